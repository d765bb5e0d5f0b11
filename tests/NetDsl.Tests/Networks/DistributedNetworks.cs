using NetDsl;

namespace NetDsl.Tests.Networks;

// Small nets for the data-parallel trainer: every layer kind whose gradient is a sum over samples (conv, dense, bias).
[Network(1, 8, 8)]
[Conv2D(4, 3, Padding = 1)] [Tanh]
[MaxPool2D(2)]
[Dense(10)] [ReLU]
[Dense(3)]
public partial class DataParallelNet;

// With batch norm: statistics per rank, running buffers made equal at each epoch's end.
[Network(1, 8, 8)]
[Conv2D(4, 3)] [BatchNorm] [ReLU]
[Dense(3)]
public partial class DataParallelBnNet;
