using NetDsl;

namespace NetDsl.Tests.Networks;

// Per-pixel classification (three classes on a 6×6 map) and a four-value regression head, for the dense and regression fits.

[Network(1, 6, 6)]
[Conv2D(4, 3, Padding = 1)] [Tanh]
[Conv2D(3, 1)]
public partial class PixelNet;

[Network(1, 6, 6)]
[Conv2D(3, 3)] [Tanh]
[Dense(4)]
public partial class PointNet;

// ReLU networks for saliency maps: strided and padded convolutions, max and average pooling, dense layers.
[Network(2, 16, 16)]
[Conv2D(4, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
[Conv2D(6, 3, Stride = 2, Padding = 1)] [ReLU]
[AvgPool2D(2)]
[Dense(8)] [ReLU]
[Dense(3)]
public partial class SaliencyNet;

[Network(1, 2, 2)]
[Dense(3)] [ReLU]
[Dense(2)]
public partial class TwoLayerRelu;
