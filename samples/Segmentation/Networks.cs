using NetDsl;

namespace SegmentationSample;

/// <summary>A small U-Net: two encoder stages, a bottleneck, and two decoder stages that upsample with
/// transposed convolutions and concatenate the encoder's features of the same resolution. It outputs four
/// logits per pixel: background, rectangle, disc, triangle.</summary>
[Network(1, 32, 32)]
[Conv2D(8, 3, Padding = 1)] [ReLU(Name = "enc1")]
[MaxPool2D(2)]
[Conv2D(16, 3, Padding = 1)] [ReLU(Name = "enc2")]
[MaxPool2D(2)]
[Conv2D(32, 3, Padding = 1)] [ReLU]
[ConvTranspose2D(16, 2, Stride = 2)] [ReLU]
[Concat(From = "enc2")]
[Conv2D(16, 3, Padding = 1)] [ReLU]
[ConvTranspose2D(8, 2, Stride = 2)] [ReLU]
[Concat(From = "enc1")]
[Conv2D(8, 3, Padding = 1)] [ReLU]
[Conv2D(4, 1)]
public partial class UNet;
