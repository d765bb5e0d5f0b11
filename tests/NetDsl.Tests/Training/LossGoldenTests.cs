using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using NetDsl.Tests.Infrastructure;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Training;

/// <summary>Every loss_*.json golden: data loss, regularisation terms, total loss and both gradients at the README tolerance.</summary>
public class LossGoldenTests
{
    public static IEnumerable<object[]> Cases => GoldenCase.Named("loss_");

    [Fact]
    public void All_loss_goldens_are_found() => Cases.Count().ShouldBe(8);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_pytorch(string name)
    {
        var c = GoldenCase.Load(name);
        var cfg = c.Config;
        var logitsT = c.Inputs["logits"];
        float[] logits = logitsT.Floats;
        int batch = logitsT.Shape[0];
        int features = logits.Length / batch;
        var grad = new float[logits.Length];
        var target = c.Inputs["target"];
        string kind = cfg.GetProperty("loss").GetString()!;
        cfg.GetProperty("reduction").GetString().ShouldBe("mean");
        float[] classWeight = cfg.TryGetProperty("class_weight", out var cw) ? cw.EnumerateArray().Select(e => e.GetSingle()).ToArray() : [];

        float dataLoss;
        var checkedOutputs = new HashSet<string> { "loss", "data_loss", "l2_term", "l1_term" };
        switch (kind)
        {
            case "cross_entropy" when cfg.TryGetProperty("per_pixel", out var perPixel) && perPixel.GetBoolean():
                // logits [N, C, H, W], one label per pixel [N, H, W]
                dataLoss = new PixelwiseSoftmaxCrossEntropy(logitsT.Shape[1], classWeight).Compute(logits, target.Labels, batch, features, grad);
                break;
            case "cross_entropy":
                dataLoss = new SoftmaxCrossEntropy(classWeight).Compute(logits, target.Labels, batch, features, grad);
                break;
            case "mse":
                dataLoss = new MeanSquaredError().Compute(logits, target.Floats, batch, features, grad);
                break;
            case "bce_with_logits":
                dataLoss = new BinaryCrossEntropyWithLogits().Compute(logits, target.Floats, batch, features, grad);
                break;
            case "multi_margin":
                var mm = new MultiMarginLoss(cfg.GetProperty("p").GetInt32(), cfg.GetProperty("margin").GetSingle(), classWeight);
                dataLoss = mm.Compute(logits, target.Labels, batch, features, grad);
                break;
            case "nll_log_softmax":
                var logProbs = new float[logits.Length];
                NegativeLogLikelihood.LogSoftmax(logits, batch, features, logProbs);
                Close.All(c.Outputs["log_probs"].Floats, logProbs, $"{name} log_probs");
                checkedOutputs.Add("log_probs");
                var gradLp = new float[logits.Length];
                dataLoss = new NegativeLogLikelihood(classWeight).Compute(logProbs, target.Labels, batch, features, gradLp);
                NegativeLogLikelihood.LogSoftmaxBackward(logProbs, gradLp, batch, features, grad);
                break;
            default:
                throw new InvalidOperationException($"{name}: unknown loss '{kind}'");
        }

        float[] w = c.Params["reg_weight"].Floats;
        var gw = new float[w.Length];
        float reg = Regularization.Apply(w, gw, cfg.GetProperty("l1").GetSingle(), cfg.GetProperty("l2").GetSingle(), out float l2Term, out float l1Term);
        reg.ShouldBe(l2Term + l1Term, 1e-6f);

        Close.All(c.Outputs["data_loss"].Floats, [dataLoss], $"{name} data_loss");
        Close.All(c.Outputs["l2_term"].Floats, [l2Term], $"{name} l2_term");
        Close.All(c.Outputs["l1_term"].Floats, [l1Term], $"{name} l1_term");
        Close.All(c.Outputs["loss"].Floats, [dataLoss + reg], $"{name} loss");
        Close.All(c.Grads["logits"].Floats, grad, $"{name} grad logits");
        Close.All(c.Grads["reg_weight"].Floats, gw, $"{name} grad reg_weight");
        c.Outputs.Keys.Except(checkedOutputs).ShouldBeEmpty($"{name}: outputs not compared");
        c.Grads.Keys.Except(["logits", "reg_weight"]).ShouldBeEmpty($"{name}: grads not compared");
    }
}
