using NetDsl;

namespace NetDsl.Tests.Networks;

// LeNet-5 as in the goldens (fc1..fc3 named as PyTorch names them there).
[Network(1, 28, 28)]
[Conv2D(6, 5, Padding = 2)] [Tanh]
[AvgPool2D(2)]
[Conv2D(16, 5)] [Tanh]
[AvgPool2D(2)]
[Dense(120, Name = "fc1")] [Tanh]
[Dense(84, Name = "fc2")] [Tanh]
[Dense(10, Name = "fc3")]
public partial class LeNet5;
