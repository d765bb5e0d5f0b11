using System;
using System.Linq;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using NetDsl.Tools;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Tools;

/// <summary>Test-time augmentation against its definition written out with index arithmetic: the views of a zero-padded
/// input's centre and corner crops, mirrored or not, and the mean of the softmax over them.</summary>
public class TestTimeAugmentationTests
{
    [Fact]
    public void TheTenViewsAreTheCropsOfThePaddedInputAndTheirMirrors()
    {
        var views = TestTimeAugmentation.Views(2, corners: true, flip: true);
        views.Length.ShouldBe(10);
        views.Count(v => v.Flip).ShouldBe(5);
        TestTimeAugmentation.Views(1, corners: false, flip: false).ShouldBe(new[] { new TestTimeView(0, 0, false) });

        // A 1×3×4 image padded by 1 is 5×6; the crop at its top-left corner (offset (0, 0)) is the shift (+1, +1).
        const int h = 3, w = 4, p = 1;
        var image = Enumerable.Range(1, h * w).Select(i => (float)i).ToArray();
        var padded = new float[(h + 2 * p) * (w + 2 * p)];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) padded[(y + p) * (w + 2 * p) + x + p] = image[y * w + x];
        foreach (var (oy, ox, dx, dy) in new[] { (0, 0, 1, 1), (0, 2, -1, 1), (2, 0, 1, -1), (2, 2, -1, -1), (1, 1, 0, 0) })
            foreach (bool flip in new[] { false, true })
            {
                var view = new float[h * w];
                TestTimeAugmentation.Apply(new TestTimeView(dx, dy, flip), image, 1, h, w, view);
                var source = flip ? MirrorPadded(padded, h + 2 * p, w + 2 * p) : padded;
                // Flipped views are the same crops of the mirrored padded image (mirror first, then crop).
                int cx = ox;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        view[y * w + x].ShouldBe(source[(y + oy) * (w + 2 * p) + x + cx], $"crop ({oy}, {ox}) flip {flip} at ({y}, {x})");
            }
    }

    static float[] MirrorPadded(float[] padded, int h, int w)
    {
        var m = new float[padded.Length];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) m[y * w + x] = padded[y * w + w - 1 - x];
        return m;
    }

    [Fact]
    public void PredictIsTheMeanSoftmaxOverTheViews()
    {
        const int batch = 2;
        using var net = new TinyConv(batch, seed: 3, workers: 1);
        var rng = new Rng(5);
        var x = Enumerable.Range(0, batch * 64).Select(_ => rng.NextFloat()).ToArray();
        var views = TestTimeAugmentation.Views(1, corners: true, flip: true);
        var p = new float[batch * 3];
        TestTimeAugmentation.Predict(net, x, batch, 1, 8, 8, views, p);
        var expected = new double[batch * 3];
        foreach (var v in views)
            for (int n = 0; n < batch; n++)
            {
                var view = new float[64];
                for (int y = 0; y < 8; y++)
                    for (int c = 0; c < 8; c++)
                    {
                        int sy = y - v.Dy, sx = c - v.Dx; // shift, then read the mirrored image
                        if (sy < 0 || sy >= 8 || sx < 0 || sx >= 8) continue;
                        view[y * 8 + c] = x[n * 64 + sy * 8 + (v.Flip ? 7 - sx : sx)];
                    }
                var logits = net.Forward(view, 1).ToArray();
                double z = logits.Sum(l => Math.Exp(l));
                for (int k = 0; k < 3; k++) expected[n * 3 + k] += Math.Exp(logits[k]) / z / views.Length;
            }
        for (int i = 0; i < p.Length; i++) p[i].ShouldBe((float)expected[i], 1e-6f);
        Should.Throw<ArgumentException>(() => TestTimeAugmentation.Predict(net, x, batch, 1, 8, 8, ReadOnlySpan<TestTimeView>.Empty, p)).Message.ShouldContain("views is empty");
    }
}
