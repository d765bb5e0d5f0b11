using NetDsl;

namespace FashionMnistSample;

/// <summary>LeNet-5 (LeCun 1998) as in the lecture notes' table, on 28×28 inputs padded by 2.</summary>
[Network(1, 28, 28)]
[Conv2D(6, 5, Padding = 2)] [Tanh]
[AvgPool2D(2)]
[Conv2D(16, 5)] [Tanh]
[AvgPool2D(2)]
[Dense(120)] [Tanh]
[Dense(84)] [Tanh]
[Dense(10)]
public partial class LeNet5;

/// <summary>A small VGG-style network: two 3×3 conv/ReLU/max-pool stages and two dense layers.</summary>
[Network(1, 28, 28)]
[Conv2D(32, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
[Conv2D(64, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
[Dense(128)] [ReLU]
[Dense(10)]
public partial class Cnn;
