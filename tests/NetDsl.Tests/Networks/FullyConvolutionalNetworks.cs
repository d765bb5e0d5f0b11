using NetDsl;

namespace NetDsl.Tests.Networks;

// A classifier with a dense head and no padding (so every window of the larger input sees what a crop sees), batch norm
// after a dense layer (its running statistics travel too), and its fully convolutional twin for a larger input.
// Total stride before the head: pool1 /2 → the map moves 2 input pixels per position.
[Network(2, 12, 12)]
[Conv2D(4, 3)] [ReLU]                 // 10×10
[MaxPool2D(2)]                        // 5×5
[Conv2D(6, 2)] [Tanh]                 // 4×4
[Flatten]
[Dense(8)] [BatchNorm] [ReLU]         // becomes Conv2D(8, 4×4)
[Dense(5, Name = "head")]             // becomes a 1×1 Conv2D
public partial class PatchClassifier;

/// <summary>PatchClassifier slid over 18×16 inputs: a 4×3 map of its answers ((18 − 12)/2 + 1, (16 − 12)/2 + 1).</summary>
[Network(2, 18, 16, ConvolutionalOf = typeof(PatchClassifier))]
public partial class PatchClassifierMap;

// A graph classifier (a branch joined by Concat, a dense after a dense, a strided convolution) and its twin.
[Network(1, 9, 9)]
[Conv2D(4, 3, Stride = 2, Name = "stem")]                                // 4×4
[Conv2D(3, 1, From = "stem")] [ReLU(Name = "a")]
[Conv2D(2, 1, From = "stem")] [Sigmoid(Name = "b")]
[Concat("a", "b")]
[Dense(6)] [Tanh] [Dense(3)] [Softmax]
public partial class BranchClassifier;

[Network(1, 15, 13, ConvolutionalOf = typeof(BranchClassifier))]
public partial class BranchClassifierMap;
