using NetDsl;

namespace TransferLearningSample;

/// <summary>Trained from scratch on Fashion-MNIST classes 0–4 (T-shirt, trouser, pullover, dress, coat).</summary>
[Network(1, 28, 28)]
[Conv2D(16, 3, Padding = 1, Name = "conv1")] [ReLU] [MaxPool2D(2)]
[Conv2D(32, 3, Padding = 1, Name = "conv2")] [ReLU] [MaxPool2D(2)]
[Dense(64, Name = "fc")] [ReLU]
[Dense(5, Name = "head")]
public partial class SourceNet;

/// <summary>The same feature extractor with its convolutions frozen and a new head for classes 5–9
/// (sandal, shirt, sneaker, bag, ankle boot). "fc" is fine-tuned at a tenth of the learning rate.</summary>
[Network(1, 28, 28)]
[Conv2D(16, 3, Padding = 1, Name = "conv1", Frozen = true)] [ReLU] [MaxPool2D(2)]
[Conv2D(32, 3, Padding = 1, Name = "conv2", Frozen = true)] [ReLU] [MaxPool2D(2)]
[Dense(64, Name = "fc")] [ReLU]
[Dense(5, Name = "newhead")]
public partial class TargetNet;
