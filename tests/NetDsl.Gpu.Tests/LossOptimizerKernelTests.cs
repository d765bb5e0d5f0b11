using System;
using System.Linq;
using ILGPU.Runtime;
using NetDsl.Gpu;
using NetDsl.Tests.Infrastructure;
using NetDsl.Training;
using Xunit;

namespace NetDsl.Gpu.Tests;

/// <summary>The device loss and update kernels against the PyTorch goldens (the data part of each loss golden; three steps of
/// each optimizer golden), through the same <see cref="Loss"/> and <see cref="Optimizer"/> objects the CPU path takes.</summary>
public class LossOptimizerKernelTests(CpuAccelerator accelerator) : IClassFixture<CpuAccelerator>
{
    private readonly Accelerator _a = accelerator.Device.Accelerator;

    public static TheoryData<string> Losses() => new()
    {
        "loss_ce", "loss_ce_perpixel", "loss_mse", "loss_mse_4d", "loss_bce_logits", "loss_multimargin", "loss_nll_logsoftmax", "loss_nll_logsoftmax_weighted",
    };

    [Theory]
    [MemberData(nameof(Losses))]
    public void LossKernelMatchesPyTorch(string name)
    {
        var c = GoldenCase.Load(name);
        var cfg = c.Config;
        float[] logits = c.Inputs["logits"].Floats;
        int batch = c.Inputs["logits"].Shape[0], features = logits.Length / batch;
        var target = c.Inputs["target"];
        float[] classWeight = cfg.TryGetProperty("class_weight", out var cw) ? cw.EnumerateArray().Select(e => e.GetSingle()).ToArray() : [];
        string kind = cfg.GetProperty("loss").GetString()!;
        bool perPixel = cfg.TryGetProperty("per_pixel", out var pp) && pp.GetBoolean();
        Loss loss = kind switch
        {
            "cross_entropy" when perPixel => new PixelwiseSoftmaxCrossEntropy(c.Inputs["logits"].Shape[1], classWeight),
            "cross_entropy" => new SoftmaxCrossEntropy(classWeight),
            "mse" => new MeanSquaredError(),
            "bce_with_logits" => new BinaryCrossEntropyWithLogits(),
            "multi_margin" => new MultiMarginLoss(cfg.GetProperty("p").GetInt32(), cfg.GetProperty("margin").GetSingle(), classWeight),
            "nll_log_softmax" => new NegativeLogLikelihood(classWeight),
            _ => throw new InvalidOperationException(kind),
        };
        // NLL reads log-probabilities: the host log-softmax feeds the device loss, and its backward maps the device gradient back.
        float[] input = logits;
        if (kind == "nll_log_softmax")
        {
            input = new float[logits.Length];
            NegativeLogLikelihood.LogSoftmax(logits, batch, features, input);
        }
        using var device = new DeviceLoss(_a, LoadedKernels.For(_a), batch, features);
        using var output = _a.Allocate1D(input);
        bool labels = target.Int64 is not null;
        float value = device.Compute(loss, output.View, labels ? target.Labels : default, labels ? default : target.Floats, batch, labels);
        var grad = new float[logits.Length];
        device.Gradient.SubView(0, logits.Length).CopyToCPU(grad);
        if (kind == "nll_log_softmax")
        {
            var dLogits = new float[logits.Length];
            NegativeLogLikelihood.LogSoftmaxBackward(input, grad, batch, features, dLogits);
            grad = dLogits;
        }
        Close.All(c.Outputs["data_loss"].Floats, [value], name + " data_loss");
        Close.All(c.Grads["logits"].Floats, grad, name + " grad logits");
    }

    public static TheoryData<string> Optimizers() => new()
    {
        "opt_sgd", "opt_sgd_wd", "opt_sgd_momentum", "opt_sgd_momentum_dampening", "opt_sgd_momentum_wd", "opt_nesterov",
        "opt_adam", "opt_adam_wd", "opt_adamw", "opt_adamw_wd0", "opt_adagrad", "opt_adadelta", "opt_adadelta_wd", "opt_rmsprop", "opt_rmsprop_wd",
    };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void UpdateKernelMatchesPyTorch(string name)
    {
        var c = GoldenCase.Load(name);
        var k = c.Config.GetProperty("kwargs");
        float F(string key) => k.GetProperty(key).GetSingle();
        bool B(string key) => k.GetProperty(key).GetBoolean();
        string kind = c.Config.GetProperty("optimizer").GetString()!;
        Optimizer optimizer = kind switch
        {
            "sgd" => new Sgd(F("lr"), F("momentum"), F("dampening"), B("nesterov"), F("weight_decay")),
            "adam" => new Adam(F("lr"), k.GetProperty("betas")[0].GetSingle(), k.GetProperty("betas")[1].GetSingle(), F("eps"), F("weight_decay"), B("amsgrad")),
            "adamw" => new AdamW(F("lr"), k.GetProperty("betas")[0].GetSingle(), k.GetProperty("betas")[1].GetSingle(), F("eps"), F("weight_decay"), B("amsgrad")),
            "adagrad" => new Adagrad(F("lr"), F("lr_decay"), F("weight_decay"), F("initial_accumulator_value"), F("eps")),
            "adadelta" => new Adadelta(F("lr"), F("rho"), F("eps"), F("weight_decay")),
            "rmsprop" => new RmsProp(F("lr"), F("alpha"), F("eps"), F("weight_decay"), F("momentum"), B("centered")),
            _ => throw new InvalidOperationException(kind),
        };
        using var device = new DeviceOptimizer(_a, LoadedKernels.For(_a));
        var p0 = c.Inputs["param"].Floats;
        using var parameters = _a.Allocate1D(p0);
        int steps = c.Config.GetProperty("steps").GetInt32();
        for (int s = 1; s <= steps; s++)
        {
            using var grads = _a.Allocate1D(c.Inputs[$"grad_step{s}"].Floats);
            device.Step(optimizer, parameters.View, grads.View, p0.Length);
            Close.All(c.Outputs[$"param_step{s}"].Floats, parameters.GetAsArray1D(), $"{name} param after step {s}");
        }
        Assert.Equal(steps, device.Steps(optimizer));
    }
}
