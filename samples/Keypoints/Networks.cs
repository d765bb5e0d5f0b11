using NetDsl;

namespace KeypointsSample;

/// <summary>Three conv/ReLU/max-pool stages and a 100-unit hidden layer (the shape of the notes' facial-keypoints net,
/// scaled to 32×32), regressing eight numbers: the (x, y) of four corners.</summary>
[Network(1, 32, 32)]
[Conv2D(16, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
[Conv2D(32, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
[Conv2D(64, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
[Dense(100)] [ReLU]
[Dense(8)]
public partial class CornerNet;
