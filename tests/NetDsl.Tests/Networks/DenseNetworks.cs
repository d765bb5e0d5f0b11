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
