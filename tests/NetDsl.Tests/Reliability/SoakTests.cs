using System.Linq;
using NetDsl.Data;
using NetDsl.Tools;
using NetDsl.Training;
using Shouldly;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests.Reliability;

[Collection(RunsAlone.Name)]
public class SoakTests(ITestOutputHelper output)
{
    /// <summary>The CI variant of the soak (the full one: the sample's <c>--soak --net cnn --subset --epochs 30</c>): the
    /// sample's cnn for 8 epochs on the first 640 images of the shipped subset. No step from epoch 2 on allocates a byte,
    /// and the managed heap and working set do not grow after epoch 2.</summary>
    [Fact]
    public void TheSamplesCnnAllocatesNothingPerStepAndItsMemoryStaysFlat()
    {
        var (train, _) = FashionMnist.Load(System.IO.Path.Combine(System.AppContext.BaseDirectory, "TestData", "fashion-subset"));
        var data = train.Take(640);
        using var net = new FashionMnistSample.Cnn(64, seed: 1, workers: 2);
        // The training thread's allocations: the test runner's own threads allocate in the background. (The sample's --soak
        // counts every thread, the network's workers included; the benchmark's train_alloc_bytes_per_step too.)
        var soak = new MemorySoak { AllThreads = false };
        Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Sgd(0.01f, momentum: 0.9f),
            new TrainingOptions { Epochs = 8, BatchSize = 64, OnStep = soak.OnStep, OnEpoch = soak.OnEpoch });
        foreach (var e in soak.Epochs) output.WriteLine(e.ToString());
        soak.Epochs.Count.ShouldBe(8);
        soak.Epochs.Skip(1).Sum(e => e.StepsMeasured).ShouldBe(7 * 9);
        soak.Failures.ShouldBeEmpty();
    }

    /// <summary>The soak catches what it is for: a step that allocates.</summary>
    [Fact]
    public void ASoakFailsWhenAStepAllocates()
    {
        var data = DeterminismTests.Data(64, 8, 8, 3);
        using var net = new Networks.TinyNet8(16, workers: 1);
        var soak = new MemorySoak { AllThreads = false };
        object? keep = null;
        Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Sgd(0.01f), new TrainingOptions
        {
            Epochs = 3, BatchSize = 16,
            OnStep = s => { keep = new byte[1000]; soak.OnStep(s); },
            OnEpoch = soak.OnEpoch,
        });
        keep.ShouldNotBeNull();
        soak.Failures.Count.ShouldBe(2 * 3);
        soak.Failures[0].ShouldStartWith("epoch 2, step 5: allocated 10");
    }
}
