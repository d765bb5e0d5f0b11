using System;
using System.Collections.Generic;
using System.Globalization;
using NetDsl.Training;
using Spectre.Console;

namespace NetDslSamples;

/// <summary>How the samples show training: on a terminal a live progress bar per epoch (step, running loss and accuracy,
/// samples/s, ETA); when the output is redirected (CI logs, files) plain lines, a few per epoch. A per-epoch table and
/// a summary line follow either way.</summary>
public static class TrainingView
{
    public static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Calls <paramref name="fit"/> with the progress sink and epoch callback that suit the console.</summary>
    public static IReadOnlyList<EpochReport> Run(Func<IProgress<TrainingProgress>, Action<EpochReport>, IReadOnlyList<EpochReport>> fit)
    {
        if (!Interactive)
            return fit(new TextProgress(Console.Out, inPlace: false), r => Console.WriteLine(EpochLine(r)));

        IReadOnlyList<EpochReport> reports = [];
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var tasks = new Dictionary<int, ProgressTask>();
                ProgressTask For(int epoch, int steps) =>
                    tasks.TryGetValue(epoch, out var t) ? t : tasks[epoch] = context.AddTask($"epoch {epoch}", maxValue: steps);
                var sink = new Sink(p =>
                {
                    var task = For(p.Epoch, p.StepsPerEpoch);
                    task.Value = p.Step;
                    task.Description = string.Create(CultureInfo.InvariantCulture,
                        $"epoch {p.Epoch}/{p.Epochs}  loss {p.Loss:F4}  acc {p.Accuracy * 100:F2} %  {p.SamplesPerSecond,7:N0} samples/s  ETA {TrainingSummary.Clock(p.EpochRemaining)} / {TrainingSummary.Clock(p.TotalRemaining)}");
                    context.Refresh();
                });
                reports = fit(sink, r =>
                {
                    if (!tasks.TryGetValue(r.Epoch, out var task)) return;
                    task.Description = string.Create(CultureInfo.InvariantCulture,
                        $"epoch {r.Epoch}  train loss {r.TrainLoss:F4}  acc {r.TrainAccuracy * 100:F2} %  [green]test acc {r.TestAccuracy * 100:F2} %[/]  {r.SamplesPerSecond:N0} samples/s");
                    task.StopTask();
                });
            });
        return reports;
    }

    /// <summary>The epochs as a table (best test accuracy in bold), then the summary line.</summary>
    public static void PrintTable(IReadOnlyList<EpochReport> reports)
    {
        if (reports.Count == 0) return;
        var summary = TrainingSummary.Of(reports);
        var table = new Table().Border(Interactive ? TableBorder.Rounded : TableBorder.Ascii);
        foreach (var header in new[] { "epoch", "train loss", "train acc", "test loss", "test acc", "time", "samples/s" })
            table.AddColumn(new TableColumn(header).RightAligned());
        foreach (var r in reports)
        {
            string Cell(string s) => r.Epoch == summary.BestEpoch ? $"[bold]{s}[/]" : s;
            table.AddRow(
                Cell(r.Epoch.ToString(CultureInfo.InvariantCulture)),
                Cell(r.TrainLoss.ToString("F4", CultureInfo.InvariantCulture)),
                Cell((r.TrainAccuracy * 100).ToString("F2", CultureInfo.InvariantCulture) + " %"),
                Cell(r.TestLoss.ToString("F4", CultureInfo.InvariantCulture)),
                Cell((r.TestAccuracy * 100).ToString("F2", CultureInfo.InvariantCulture) + " %"),
                Cell(r.Seconds.ToString("F1", CultureInfo.InvariantCulture) + " s"),
                Cell(r.SamplesPerSecond.ToString("N0", CultureInfo.InvariantCulture)));
        }
        AnsiConsole.Write(table);
        Console.WriteLine(summary);
    }

    public static string EpochLine(EpochReport r) => string.Create(CultureInfo.InvariantCulture,
        $"epoch {r.Epoch,2}  train loss {r.TrainLoss:F4}  train acc {r.TrainAccuracy:P2}  test loss {r.TestLoss:F4}  test acc {r.TestAccuracy:P2}  {r.Seconds:F1} s  {r.SamplesPerSecond:F0} samples/s");

    /// <summary>Reports on the training thread (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
    private sealed class Sink(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
