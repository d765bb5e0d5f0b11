using NetDsl;

namespace NetDsl.Tests.Networks;

// Layer-wise pre-training: a two-stage classifier, an autoencoder per stage (the encoder named like the classifier's
// layers, a transposed-convolution decoder) and the grown networks with temporary heads. Tanh and average pooling keep the
// functions smooth for finite differences.

[Network(1, 8, 8)]
[Conv2D(3, 3, Padding = 1)] [Tanh]
[MaxPool2D(2)]
[Conv2D(4, 3, Padding = 1)] [Tanh]
[AvgPool2D(2)]
[Dense(3)]
public partial class PreClassifier;

/// <summary>Stage 1: conv1 + pooling, decoded by a 2×2 stride-2 transposed convolution back to 1×8×8.</summary>
[Network(1, 8, 8)]
[Conv2D(3, 3, Padding = 1)] [Tanh]
[MaxPool2D(2)]
[ConvTranspose2D(1, 2, Stride = 2)]
public partial class PreAutoencoder1;

/// <summary>Stage 2: conv2 on pool1's 3×4×4 output, decoded back to 3×4×4.</summary>
[Network(3, 4, 4)]
[Conv2D(4, 3, Padding = 1, Name = "conv2")] [Tanh]
[AvgPool2D(2)]
[ConvTranspose2D(3, 2, Stride = 2)]
public partial class PreAutoencoder2;

/// <summary>Stage 2 with conv2 of another kernel size: named like the classifier's but not the same layer.</summary>
[Network(3, 4, 4)]
[Conv2D(4, 1, Name = "conv2")] [Tanh]
[AvgPool2D(2)]
[ConvTranspose2D(3, 2, Stride = 2)]
public partial class PreAutoencoderWrongConv2;

/// <summary>Smooth everywhere (average pooling), for the finite-difference check of encoder and decoder.</summary>
[Network(2, 6, 6)]
[Conv2D(3, 3, Padding = 1)] [Tanh]
[AvgPool2D(2)]
[ConvTranspose2D(2, 2, Stride = 2)]
public partial class SmoothAutoencoder;

[Network(1, 8, 8)]
[Conv2D(3, 3, Padding = 1)] [Tanh]
[MaxPool2D(2)]
[Dense(3, Name = "head1")]
public partial class PreGrow1;

[Network(1, 8, 8)]
[Conv2D(3, 3, Padding = 1)] [Tanh]
[MaxPool2D(2)]
[Conv2D(4, 3, Padding = 1)] [Tanh]
[AvgPool2D(2)]
[Dense(3, Name = "head2")]
public partial class PreGrow2;

/// <summary>A denoising stage 1: input dropout (masking noise) in front of the encoder, which the classifier does not have.</summary>
[Network(1, 8, 8)]
[Dropout(0.25)]
[Conv2D(3, 3, Padding = 1)] [Tanh]
[MaxPool2D(2)]
[ConvTranspose2D(1, 2, Stride = 2)]
public partial class PreDenoisingAutoencoder1;
