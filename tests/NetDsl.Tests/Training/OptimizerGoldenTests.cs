using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using NetDsl.Tests.Infrastructure;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Training;

/// <summary>Every opt_*.json golden: three steps, comparing the parameters and every stored state tensor after each.</summary>
public class OptimizerGoldenTests
{
    public static IEnumerable<object[]> Cases => GoldenCase.Named("opt_");

    [Fact]
    public void All_optimizer_goldens_are_found() => Cases.Count().ShouldBe(15);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_pytorch(string name)
    {
        var c = GoldenCase.Load(name);
        var kw = c.Config.GetProperty("kwargs");
        var opt = Create(c.Config.GetProperty("optimizer").GetString()!, kw);
        float[] p = c.Inputs["param"].Floats.ToArray();
        int steps = c.Config.GetProperty("steps").GetInt32();
        var compared = new HashSet<string>();
        for (int k = 1; k <= steps; k++)
        {
            opt.Step(p, c.Inputs[$"grad_step{k}"].Floats);
            opt.StepCount.ShouldBe(k);
            Close.All(c.Outputs[$"param_step{k}"].Floats, p, $"{name} param_step{k}");
            compared.Add($"param_step{k}");
            string prefix = $"state_step{k}.";
            foreach (var (key, tensor) in c.Outputs.Where(o => o.Key.StartsWith(prefix, StringComparison.Ordinal)))
            {
                Close.All(tensor.Floats, State(opt, key[prefix.Length..]), $"{name} {key}");
                compared.Add(key);
            }
        }
        c.Outputs.Keys.Except(compared).ShouldBeEmpty($"{name}: outputs not compared");
    }

    static float F(JsonElement kw, string name) => kw.GetProperty(name).GetSingle();

    internal static Optimizer Create(string kind, JsonElement kw) => kind switch
    {
        "sgd" => new Sgd(F(kw, "lr"), F(kw, "momentum"), F(kw, "dampening"), kw.GetProperty("nesterov").GetBoolean(), F(kw, "weight_decay")),
        "adam" => new Adam(F(kw, "lr"), kw.GetProperty("betas")[0].GetSingle(), kw.GetProperty("betas")[1].GetSingle(), F(kw, "eps"),
            F(kw, "weight_decay"), kw.GetProperty("amsgrad").GetBoolean()),
        "adamw" => new AdamW(F(kw, "lr"), kw.GetProperty("betas")[0].GetSingle(), kw.GetProperty("betas")[1].GetSingle(), F(kw, "eps"),
            F(kw, "weight_decay"), kw.GetProperty("amsgrad").GetBoolean()),
        "adagrad" => new Adagrad(F(kw, "lr"), F(kw, "lr_decay"), F(kw, "weight_decay"), F(kw, "initial_accumulator_value"), F(kw, "eps")),
        "adadelta" => new Adadelta(F(kw, "lr"), F(kw, "rho"), F(kw, "eps"), F(kw, "weight_decay")),
        "rmsprop" => new RmsProp(F(kw, "lr"), F(kw, "alpha"), F(kw, "eps"), F(kw, "weight_decay"), F(kw, "momentum"), kw.GetProperty("centered").GetBoolean()),
        _ => throw new InvalidOperationException($"unknown optimizer '{kind}'"),
    };

    /// <summary>State by PyTorch's <c>optimizer.state</c> name.</summary>
    internal static float[] State(Optimizer o, string name) => (o, name) switch
    {
        (Sgd s, "momentum_buffer") => s.MomentumBuffer.ToArray(),
        (Adam a, "exp_avg") => a.ExpAvg.ToArray(),
        (Adam a, "exp_avg_sq") => a.ExpAvgSq.ToArray(),
        (Adam a, "max_exp_avg_sq") => a.MaxExpAvgSq.ToArray(),
        (AdamW a, "exp_avg") => a.ExpAvg.ToArray(),
        (AdamW a, "exp_avg_sq") => a.ExpAvgSq.ToArray(),
        (AdamW a, "max_exp_avg_sq") => a.MaxExpAvgSq.ToArray(),
        (Adagrad a, "sum") => a.Sum.ToArray(),
        (Adadelta a, "square_avg") => a.SquareAvg.ToArray(),
        (Adadelta a, "acc_delta") => a.AccDelta.ToArray(),
        (RmsProp r, "square_avg") => r.SquareAvg.ToArray(),
        (RmsProp r, "momentum_buffer") => r.MomentumBuffer.ToArray(),
        (RmsProp r, "grad_avg") => r.GradAvg.ToArray(),
        _ => throw new InvalidOperationException($"{o.GetType().Name} has no state '{name}'"),
    };
}
