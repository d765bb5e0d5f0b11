using NetDsl;

namespace PretrainingSample;

/// <summary>The classifier being pre-trained: two convolution stages and a dense head.</summary>
[Network(1, 28, 28)]
[Conv2D(16, 5, Padding = 2)] [ReLU]
[MaxPool2D(2)]                                  // stage 1 output: 16×14×14
[Conv2D(32, 5, Padding = 2)] [ReLU]
[MaxPool2D(2)]                                  // stage 2 output: 32×7×7
[Dense(64)] [ReLU]
[Dense(10)]
public partial class Classifier;

/// <summary>Stage 1 autoencoder: the classifier's conv1 stage as the encoder (same names, so its weights copy over), a
/// transposed convolution as the decoder back to 1×28×28.</summary>
[Network(1, 28, 28)]
[Conv2D(16, 5, Padding = 2)] [ReLU]
[MaxPool2D(2)]
[ConvTranspose2D(1, 2, Stride = 2)]
public partial class Autoencoder1;

/// <summary>Stage 2 autoencoder: reads the frozen stage-1 output (16×14×14), encodes with conv2, decodes back to 16×14×14.</summary>
[Network(16, 14, 14)]
[Conv2D(32, 5, Padding = 2, Name = "conv2")] [ReLU]
[MaxPool2D(2)]
[ConvTranspose2D(16, 2, Stride = 2)]
public partial class Autoencoder2;

/// <summary>Supervised stage 1: conv1 and a temporary head.</summary>
[Network(1, 28, 28)]
[Conv2D(16, 5, Padding = 2)] [ReLU]
[MaxPool2D(2)]
[Dense(10, Name = "head1")]
public partial class Grow1;

/// <summary>Supervised stage 2: conv1 (copied from stage 1, frozen), conv2 and a new temporary head.</summary>
[Network(1, 28, 28)]
[Conv2D(16, 5, Padding = 2)] [ReLU]
[MaxPool2D(2)]
[Conv2D(32, 5, Padding = 2)] [ReLU]
[MaxPool2D(2)]
[Dense(10, Name = "head2")]
public partial class Grow2;
