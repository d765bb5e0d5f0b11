using NetDsl;

namespace NetDsl.Tests.Networks;

// One network per CPU convolution algorithm the generator picks from the shapes (see CpuPlan.Strategy), each large enough
// for a batch of one to split its output channels across workers (≥ 1M multiply-adds).

/// <summary>3×3, stride 1, 16 → 32 channels: Winograd F(2×2, 3×3) forward and input gradient.</summary>
[Network(16, 16, 15)]
[Conv2D(32, 3, Padding = 1)]
public partial class WinogradConv;

/// <summary>3×3, unequal padding (0 and 2): Winograd with an input gradient at padding 2 and 0.</summary>
[Network(16, 9, 11)]
[Conv2D(16, 3, PadTop = 0, PadBottom = 2, PadLeft = 2, PadRight = 0, Bias = false)]
public partial class WinogradConvUnevenPadding;

/// <summary>3 input channels, 5×5: the direct convolution.</summary>
[Network(3, 30, 29)]
[Conv2D(20, 5, Padding = 2)]
public partial class DirectConvNet;

/// <summary>Winograd followed by a ReLU: the convolution's forward stores the ReLU's output too.</summary>
[Network(16, 10, 12)]
[Conv2D(24, 3, Padding = 1)] [ReLU]
public partial class WinogradConvRelu;

/// <summary>The direct convolution followed by a ReLU, fused the same way.</summary>
[Network(1, 28, 28)]
[Conv2D(32, 3, Padding = 1)] [ReLU]
public partial class DirectConvRelu;

/// <summary>A 2×2 max pool: inference keeps no winners' indices, a Backward after it finds them.</summary>
[Network(3, 6, 8)]
[MaxPool2D(2)]
public partial class MaxPoolOnly;

/// <summary>A dense layer large enough (4096 × 42 weights) for a batch of one to split its units across workers.</summary>
[Network(64, 8, 8)]
[Dense(42)]
public partial class WideDenseSplit;
