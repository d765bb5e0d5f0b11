using NetDsl;

namespace NetDsl.Tests.Networks;

// The exact-resume network: every kind of state a checkpoint must carry (parameters, batch-norm running statistics,
// dropout's generator), small enough that a whole run with a checkpoint every few steps takes about a second.
[Network(1, 8, 8)]
[Conv2D(4, 3, Padding = 1)] [BatchNorm] [ReLU]
[MaxPool2D(2)]
[Dropout(0.25)]
[Dense(2048)] [ReLU]   // 133k weights: a 2 MB checkpoint, so a write takes long enough to be killed in the middle
[Dense(10)]
public partial class ResumeNet;

// The sample's cnn shape at 8×8: ReLU convolutions, so a huge step overflows in the second convolution.
[Network(1, 8, 8)]
[Conv2D(8, 3, Padding = 1)] [ReLU] [MaxPool2D(2)]
[Conv2D(8, 3, Padding = 1)] [ReLU] [MaxPool2D(2)]
[Dense(16)] [ReLU]
[Dense(10)]
public partial class SmallCnn;

[Network(1, 8, 8)]
[Conv2D(4, 3)] [Tanh]
[Dense(10)]
public partial class TinyNet8;

// Odd sizes everywhere (9×11 input, 5 and 7 channels, 19 and 10 units) so every kernel runs its tails at both vector
// widths; sigmoid and ELU for the elementwise functions.
[Network(1, 9, 11)]
[Conv2D(5, 3, Padding = 1)] [Sigmoid]
[Conv2D(7, 3, Stride = 2)] [ELU]
[Dense(19)] [Tanh]
[Dense(10)]
public partial class OddWidthNet;

// conv2 has 44·196·360 = 3.1M multiply-adds per sample, above the one-sample split threshold: a batch of one splits its
// output rows across the workers (44 rows: 6 panels of 8, the last one 4 rows); conv1 (0.56M) stays whole.
[Network(8, 14, 14)]
[Conv2D(40, 3, Padding = 1)] [ReLU]
[Conv2D(44, 3, Padding = 1, Bias = false)] [MaxPool2D(2)]
[Dense(10)]
public partial class SplitConvNet;
