using NetDsl;

namespace MnistSample;

/// <summary>LeNet-5 as in the lecture notes' table (C1 6@28×28, S2 avg, C3 16@10×10, S4 avg, C5 120, F6 84, 10 outputs),
/// on 28×28 digits padded by 2 as LeCun padded MNIST to 32×32.</summary>
[Network(1, 28, 28)]
[Conv2D(6, 5, Padding = 2, Name = "C1")] [Tanh]
[AvgPool2D(2, Name = "S2")]
[Conv2D(16, 5, Name = "C3")] [Tanh]
[AvgPool2D(2, Name = "S4")]
[Dense(120, Name = "C5")] [Tanh]
[Dense(84, Name = "F6")] [Tanh]
[Dense(10, Name = "output")]
public partial class LeNet5;
