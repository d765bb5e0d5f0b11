using NetDsl;

namespace AdversarialSample;

/// <summary>A smaller version of the FashionMnist sample's Cnn (16 and 32 filters, 64 hidden units), for time: adversarial
/// training runs three forward/backward passes per step, and PGD evaluation eleven.</summary>
[Network(1, 28, 28)]
[Conv2D(16, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
[Conv2D(32, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
[Dense(64)] [ReLU]
[Dense(10)]
public partial class SmallCnn;
