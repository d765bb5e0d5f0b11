using NetDsl;

namespace VisualizationSample;

/// <summary>LeNet-5 with ReLU, on the shipped MNIST digits.</summary>
[Network(1, 28, 28)]
[Conv2D(6, 5, Padding = 2, Name = "conv1")] [ReLU]
[MaxPool2D(2)]
[Conv2D(16, 5, Name = "conv2")] [ReLU]
[MaxPool2D(2)]
[Dense(120)] [ReLU]
[Dense(84)] [ReLU]
[Dense(10)]
public partial class DigitNet;

/// <summary>The same LeNet-5 with ReLU for Fashion-MNIST, its 84-unit layer named "code": the CNN codes a linear SVM is
/// trained on, to compare with the network's own dense head.</summary>
[Network(1, 28, 28)]
[Conv2D(6, 5, Padding = 2)] [ReLU]
[MaxPool2D(2)]
[Conv2D(16, 5)] [ReLU]
[MaxPool2D(2, Name = "pool2")]
[Dense(120)] [ReLU]
[Dense(84)] [ReLU(Name = "code")]
[Dense(10, Name = "head")]
public partial class FashionCodeNet;
