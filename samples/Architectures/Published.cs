using NetDsl;

namespace ArchitecturesSample;

// The lecture notes' ImageNet architectures at their published shapes (3×224×224 input, 1000 classes). Parameter counts,
// computed by hand from the layer shapes, are asserted in tests/NetDsl.Tests/Generator/PublishedArchitectureTests.cs.

/// <summary>AlexNet as in torchvision (one tower, 64-192-384-256-256 filters): 61,100,840 parameters. torchvision pads the
/// 11×11/4 convolution by 2 on 224×224, so (224 + 4 − 11)/4 drops one row and column, as PyTorch does (NDSL0202).</summary>
#pragma warning disable NDSL0202
[Network(3, 224, 224)]
[Conv2D(64, 11, Stride = 4, Padding = 2, Name = "conv1")] [ReLU] [MaxPool2D(3, Stride = 2)]         // 55 → 27
#pragma warning restore NDSL0202
[Conv2D(192, 5, Padding = 2, Name = "conv2")] [ReLU] [MaxPool2D(3, Stride = 2)]                      // 27 → 13
[Conv2D(384, 3, Padding = 1, Name = "conv3")] [ReLU]
[Conv2D(256, 3, Padding = 1, Name = "conv4")] [ReLU]
[Conv2D(256, 3, Padding = 1, Name = "conv5")] [ReLU] [MaxPool2D(3, Stride = 2)]                      // 13 → 6
[Dropout(0.5)] [Dense(4096, Name = "fc6")] [ReLU]
[Dropout(0.5)] [Dense(4096, Name = "fc7")] [ReLU]
[Dense(1000, Name = "fc8")]
public partial class AlexNet;

/// <summary>The original two-tower AlexNet (Krizhevsky et al. 2012) on its 227×227 crops: 96-256-384-384-256 filters,
/// conv2, conv4 and conv5 split over the two GPUs (<c>Groups = 2</c>: each half sees only its tower's channels), local
/// response normalization after conv1 and conv2: 60,965,224 parameters ("60 million").</summary>
[Network(3, 227, 227)]
[Conv2D(96, 11, Stride = 4, Name = "conv1")] [ReLU] [LocalResponseNorm(5, Alpha = 1e-4, Beta = 0.75, K = 2)] [MaxPool2D(3, Stride = 2)] // 55 → 27
[Conv2D(256, 5, Padding = 2, Groups = 2, Name = "conv2")] [ReLU] [LocalResponseNorm(5, Alpha = 1e-4, Beta = 0.75, K = 2)] [MaxPool2D(3, Stride = 2)] // 27 → 13
[Conv2D(384, 3, Padding = 1, Name = "conv3")] [ReLU]
[Conv2D(384, 3, Padding = 1, Groups = 2, Name = "conv4")] [ReLU]
[Conv2D(256, 3, Padding = 1, Groups = 2, Name = "conv5")] [ReLU] [MaxPool2D(3, Stride = 2)]         // 13 → 6
[Dropout(0.5)] [Dense(4096, Name = "fc6")] [ReLU]
[Dropout(0.5)] [Dense(4096, Name = "fc7")] [ReLU]
[Dense(1000, Name = "fc8")]
public partial class AlexNetTwoTower;

/// <summary>ZF Net (Zeiler and Fergus 2013, their Figure 3): AlexNet with a 7×7/2 first layer and a 5×5/2 second one,
/// one tower: 224 → 110 → 55 → 26 → 13 → 13 → 13 → 6. The 3×3/2 poolings round up (<c>CeilMode</c>) to give the
/// paper's 55 and 13. 62,357,608 parameters.</summary>
[Network(3, 224, 224)]
[Conv2D(96, 7, Stride = 2, Padding = 1, Name = "conv1")] [ReLU] [MaxPool2D(3, Stride = 2, CeilMode = true)] [LocalResponseNorm(5, Alpha = 1e-4, Beta = 0.75, K = 2)] // 110 → 55
[Conv2D(256, 5, Stride = 2, Name = "conv2")] [ReLU] [MaxPool2D(3, Stride = 2, CeilMode = true)] [LocalResponseNorm(5, Alpha = 1e-4, Beta = 0.75, K = 2)]             // 26 → 13
[Conv2D(384, 3, Padding = 1, Name = "conv3")] [ReLU]
[Conv2D(384, 3, Padding = 1, Name = "conv4")] [ReLU]
[Conv2D(256, 3, Padding = 1, Name = "conv5")] [ReLU] [MaxPool2D(3, Stride = 2)]                      // 13 → 6
[Dropout(0.5)] [Dense(4096, Name = "fc6")] [ReLU]
[Dropout(0.5)] [Dense(4096, Name = "fc7")] [ReLU]
[Dense(1000, Name = "fc8")]
public partial class ZfNet;

/// <summary>VGG-16 (Simonyan and Zisserman 2014, configuration D): thirteen 3×3 convolutions in five stages of 2, 2, 3, 3,
/// 3, each stage ending in 2×2 max pooling, then 4096-4096-1000 dense layers: 138,357,544 parameters.</summary>
[Network(3, 224, 224)]
[Conv2D(64, 3, Padding = 1)] [ReLU] [Conv2D(64, 3, Padding = 1)] [ReLU] [MaxPool2D(2)]                                             // 112
[Conv2D(128, 3, Padding = 1)] [ReLU] [Conv2D(128, 3, Padding = 1)] [ReLU] [MaxPool2D(2)]                                           // 56
[Conv2D(256, 3, Padding = 1)] [ReLU] [Conv2D(256, 3, Padding = 1)] [ReLU] [Conv2D(256, 3, Padding = 1)] [ReLU] [MaxPool2D(2)]      // 28
[Conv2D(512, 3, Padding = 1)] [ReLU] [Conv2D(512, 3, Padding = 1)] [ReLU] [Conv2D(512, 3, Padding = 1)] [ReLU] [MaxPool2D(2)]      // 14
[Conv2D(512, 3, Padding = 1)] [ReLU] [Conv2D(512, 3, Padding = 1)] [ReLU] [Conv2D(512, 3, Padding = 1)] [ReLU] [MaxPool2D(2)]      // 7
[Dense(4096, Name = "fc6")] [ReLU] [Dropout(0.5)]
[Dense(4096, Name = "fc7")] [ReLU] [Dropout(0.5)]
[Dense(1000, Name = "fc8")]
public partial class Vgg16;

/// <summary>GoogLeNet (Szegedy et al. 2014, Table 1) without the auxiliary classifiers: the 7×7/2 stem, LRN, the 1×1/3×3
/// second stage, nine inception modules (each: 1×1; 1×1 then 3×3; 1×1 then 5×5; 3×3/1 max pooling then a 1×1 projection;
/// concatenated in that order), 7×7 average pooling, 40 % dropout and the 1000-way classifier. Max poolings round up as in
/// the paper's sizes (112 → 56 → 28 → 14 → 7). 6,998,552 parameters with biases.</summary>
[Network(3, 224, 224)]
[Conv2D(64, 7, Stride = 2, Padding = 3, Name = "conv1")] [ReLU] [MaxPool2D(3, Stride = 2, CeilMode = true)] [LocalResponseNorm(5, Alpha = 1e-4, Beta = 0.75, K = 2)]
[Conv2D(64, 1, Name = "conv2_reduce")] [ReLU] [Conv2D(192, 3, Padding = 1, Name = "conv2")] [ReLU] [LocalResponseNorm(5, Alpha = 1e-4, Beta = 0.75, K = 2)]
[MaxPool2D(3, Stride = 2, CeilMode = true, Name = "pool2")]                                                                        // 28×28×192
[Conv2D(64, 1, From = "pool2")] [ReLU(Name = "i3a_1")] [Conv2D(96, 1, From = "pool2")] [ReLU] [Conv2D(128, 3, Padding = 1)] [ReLU(Name = "i3a_3")]
[Conv2D(16, 1, From = "pool2")] [ReLU] [Conv2D(32, 5, Padding = 2)] [ReLU(Name = "i3a_5")] [MaxPool2D(3, Stride = 1, Padding = 1, From = "pool2")] [Conv2D(32, 1)] [ReLU(Name = "i3a_p")]
[Concat("i3a_1", "i3a_3", "i3a_5", "i3a_p", Name = "i3a")]                                                                          // 256
[Conv2D(128, 1, From = "i3a")] [ReLU(Name = "i3b_1")] [Conv2D(128, 1, From = "i3a")] [ReLU] [Conv2D(192, 3, Padding = 1)] [ReLU(Name = "i3b_3")]
[Conv2D(32, 1, From = "i3a")] [ReLU] [Conv2D(96, 5, Padding = 2)] [ReLU(Name = "i3b_5")] [MaxPool2D(3, Stride = 1, Padding = 1, From = "i3a")] [Conv2D(64, 1)] [ReLU(Name = "i3b_p")]
[Concat("i3b_1", "i3b_3", "i3b_5", "i3b_p", Name = "i3b")]                                                                          // 480
[MaxPool2D(3, Stride = 2, CeilMode = true, Name = "reduce3")]                                                                        // 14×14
[Conv2D(192, 1, From = "reduce3")] [ReLU(Name = "i4a_1")] [Conv2D(96, 1, From = "reduce3")] [ReLU] [Conv2D(208, 3, Padding = 1)] [ReLU(Name = "i4a_3")]
[Conv2D(16, 1, From = "reduce3")] [ReLU] [Conv2D(48, 5, Padding = 2)] [ReLU(Name = "i4a_5")] [MaxPool2D(3, Stride = 1, Padding = 1, From = "reduce3")] [Conv2D(64, 1)] [ReLU(Name = "i4a_p")]
[Concat("i4a_1", "i4a_3", "i4a_5", "i4a_p", Name = "i4a")]                                                                          // 512
[Conv2D(160, 1, From = "i4a")] [ReLU(Name = "i4b_1")] [Conv2D(112, 1, From = "i4a")] [ReLU] [Conv2D(224, 3, Padding = 1)] [ReLU(Name = "i4b_3")]
[Conv2D(24, 1, From = "i4a")] [ReLU] [Conv2D(64, 5, Padding = 2)] [ReLU(Name = "i4b_5")] [MaxPool2D(3, Stride = 1, Padding = 1, From = "i4a")] [Conv2D(64, 1)] [ReLU(Name = "i4b_p")]
[Concat("i4b_1", "i4b_3", "i4b_5", "i4b_p", Name = "i4b")]                                                                          // 512
[Conv2D(128, 1, From = "i4b")] [ReLU(Name = "i4c_1")] [Conv2D(128, 1, From = "i4b")] [ReLU] [Conv2D(256, 3, Padding = 1)] [ReLU(Name = "i4c_3")]
[Conv2D(24, 1, From = "i4b")] [ReLU] [Conv2D(64, 5, Padding = 2)] [ReLU(Name = "i4c_5")] [MaxPool2D(3, Stride = 1, Padding = 1, From = "i4b")] [Conv2D(64, 1)] [ReLU(Name = "i4c_p")]
[Concat("i4c_1", "i4c_3", "i4c_5", "i4c_p", Name = "i4c")]                                                                          // 512
[Conv2D(112, 1, From = "i4c")] [ReLU(Name = "i4d_1")] [Conv2D(144, 1, From = "i4c")] [ReLU] [Conv2D(288, 3, Padding = 1)] [ReLU(Name = "i4d_3")]
[Conv2D(32, 1, From = "i4c")] [ReLU] [Conv2D(64, 5, Padding = 2)] [ReLU(Name = "i4d_5")] [MaxPool2D(3, Stride = 1, Padding = 1, From = "i4c")] [Conv2D(64, 1)] [ReLU(Name = "i4d_p")]
[Concat("i4d_1", "i4d_3", "i4d_5", "i4d_p", Name = "i4d")]                                                                          // 528
[Conv2D(256, 1, From = "i4d")] [ReLU(Name = "i4e_1")] [Conv2D(160, 1, From = "i4d")] [ReLU] [Conv2D(320, 3, Padding = 1)] [ReLU(Name = "i4e_3")]
[Conv2D(32, 1, From = "i4d")] [ReLU] [Conv2D(128, 5, Padding = 2)] [ReLU(Name = "i4e_5")] [MaxPool2D(3, Stride = 1, Padding = 1, From = "i4d")] [Conv2D(128, 1)] [ReLU(Name = "i4e_p")]
[Concat("i4e_1", "i4e_3", "i4e_5", "i4e_p", Name = "i4e")]                                                                          // 832
[MaxPool2D(3, Stride = 2, CeilMode = true, Name = "reduce4")]                                                                        // 7×7
[Conv2D(256, 1, From = "reduce4")] [ReLU(Name = "i5a_1")] [Conv2D(160, 1, From = "reduce4")] [ReLU] [Conv2D(320, 3, Padding = 1)] [ReLU(Name = "i5a_3")]
[Conv2D(32, 1, From = "reduce4")] [ReLU] [Conv2D(128, 5, Padding = 2)] [ReLU(Name = "i5a_5")] [MaxPool2D(3, Stride = 1, Padding = 1, From = "reduce4")] [Conv2D(128, 1)] [ReLU(Name = "i5a_p")]
[Concat("i5a_1", "i5a_3", "i5a_5", "i5a_p", Name = "i5a")]                                                                          // 832
[Conv2D(384, 1, From = "i5a")] [ReLU(Name = "i5b_1")] [Conv2D(192, 1, From = "i5a")] [ReLU] [Conv2D(384, 3, Padding = 1)] [ReLU(Name = "i5b_3")]
[Conv2D(48, 1, From = "i5a")] [ReLU] [Conv2D(128, 5, Padding = 2)] [ReLU(Name = "i5b_5")] [MaxPool2D(3, Stride = 1, Padding = 1, From = "i5a")] [Conv2D(128, 1)] [ReLU(Name = "i5b_p")]
[Concat("i5b_1", "i5b_3", "i5b_5", "i5b_p", Name = "i5b")]                                                                          // 1024
[AvgPool2D(7)] [Dropout(0.4)] [Dense(1000, Name = "fc")]
public partial class GoogLeNet;
