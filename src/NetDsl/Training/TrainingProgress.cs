using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;

namespace NetDsl.Training;

/// <summary>Where training stands within an epoch, reported through <see cref="TrainingOptions.Progress"/>.</summary>
/// <param name="Epoch">The current epoch, counted from 1.</param>
/// <param name="Epochs">Epochs in the run.</param>
/// <param name="Step">Optimizer steps done in this epoch (1 after the first).</param>
/// <param name="StepsPerEpoch">Optimizer steps per epoch.</param>
/// <param name="Samples">Training samples seen in this epoch.</param>
/// <param name="SamplesPerEpoch">Training samples per epoch.</param>
/// <param name="Loss">Mean training loss over this epoch's samples so far (plus the L1/L2 penalty when set).</param>
/// <param name="Accuracy">Fraction of this epoch's samples so far whose argmax was the label (training mode, before each step).</param>
/// <param name="SamplesPerSecond">Training throughput of this epoch so far.</param>
/// <param name="Elapsed">Time since training started (evaluations included).</param>
/// <param name="EpochRemaining">Estimated time to the end of this epoch's training steps, at this epoch's throughput.</param>
/// <param name="TotalRemaining">Estimated time to the end of the last epoch's training steps (evaluations not counted).</param>
public readonly record struct TrainingProgress(
    int Epoch, int Epochs, int Step, int StepsPerEpoch, int Samples, int SamplesPerEpoch,
    double Loss, double Accuracy, double SamplesPerSecond, TimeSpan Elapsed, TimeSpan EpochRemaining, TimeSpan TotalRemaining)
{
    /// <summary>Fraction of this epoch's steps done, 0 to 1.</summary>
    public double EpochFraction => StepsPerEpoch == 0 ? 1 : (double)Step / StepsPerEpoch;

    /// <summary>The last step of the epoch (always reported, whatever the interval).</summary>
    public bool IsEpochEnd => Step == StepsPerEpoch;

    /// <summary>One line: <c>epoch 2/5  step 120/157  77 %  loss 0.5123  acc 81.20 %  11,904 samples/s  ETA 0:03 (epoch) 0:41 (all)</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"epoch {Epoch}/{Epochs}  step {Step}/{StepsPerEpoch}  {EpochFraction * 100,3:F0} %  loss {Loss:F4}  acc {Accuracy * 100:F2} %  {SamplesPerSecond:N0} samples/s  ETA {TrainingSummary.Clock(EpochRemaining)} (epoch) {TrainingSummary.Clock(TotalRemaining)} (all)");
}

/// <summary>Turns the trainer's per-step counts into <see cref="TrainingProgress"/> reports, at most one per interval
/// (and always the last step of an epoch), so a slow console cannot slow training down.</summary>
internal sealed class ProgressMeter
{
    private readonly IProgress<TrainingProgress> _sink;
    private readonly long _intervalTicks;
    private readonly int _epochs, _steps, _samplesPerEpoch;
    private readonly Stopwatch _total = Stopwatch.StartNew();
    private long _epochStart, _lastReport;
    private int _epoch;

    public ProgressMeter(IProgress<TrainingProgress> sink, TimeSpan interval, int epochs, int stepsPerEpoch, int samplesPerEpoch)
    {
        if (interval < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(interval), interval, "ProgressInterval must be zero (every step) or positive");
        _sink = sink;
        _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
        (_epochs, _steps, _samplesPerEpoch) = (epochs, stepsPerEpoch, samplesPerEpoch);
    }

    public void StartEpoch(int epoch)
    {
        _epoch = epoch + 1;
        _epochStart = _lastReport = _total.ElapsedTicks;
    }

    /// <param name="step">Steps done in this epoch (1-based).</param>
    /// <param name="samples">Samples done in this epoch.</param>
    /// <param name="lossSum">Sum over those samples of their loss.</param>
    /// <param name="correct">How many of them were classified right.</param>
    public void AfterStep(int step, int samples, double lossSum, long correct)
    {
        long now = _total.ElapsedTicks;
        if (step != _steps && now - _lastReport < _intervalTicks) return;
        _lastReport = now;
        double seconds = (double)(now - _epochStart) / Stopwatch.Frequency;
        double rate = seconds > 0 ? samples / seconds : 0;
        TimeSpan Eta(long remainingSamples) => rate > 0 ? TimeSpan.FromSeconds(remainingSamples / rate) : TimeSpan.Zero;
        long left = _samplesPerEpoch - samples;
        _sink.Report(new TrainingProgress(_epoch, _epochs, step, _steps, samples, _samplesPerEpoch,
            samples == 0 ? 0 : lossSum / samples, samples == 0 ? 0 : (double)correct / samples, rate,
            TimeSpan.FromSeconds((double)now / Stopwatch.Frequency), Eta(left), Eta(left + (long)(_epochs - _epoch) * _samplesPerEpoch)));
    }
}

/// <summary>What a whole run came to: the best epoch (highest test accuracy, or lowest training loss without a test set),
/// the last epoch's test accuracy and the total time.</summary>
public sealed record TrainingSummary(int Epochs, int BestEpoch, double BestTestAccuracy, double FinalTestAccuracy, double FinalTrainLoss, double TotalSeconds)
{
    public static TrainingSummary Of(IReadOnlyList<EpochReport> reports)
    {
        ArgumentNullException.ThrowIfNull(reports);
        if (reports.Count == 0) throw new ArgumentException("no epochs were trained", nameof(reports));
        int best = 0;
        bool hasTest = !double.IsNaN(reports[0].TestAccuracy);
        double seconds = 0;
        for (int i = 0; i < reports.Count; i++)
        {
            seconds += reports[i].Seconds;
            bool better = hasTest ? reports[i].TestAccuracy > reports[best].TestAccuracy : reports[i].TrainLoss < reports[best].TrainLoss;
            if (better) best = i;
        }
        var last = reports[^1];
        return new TrainingSummary(reports.Count, reports[best].Epoch, reports[best].TestAccuracy, last.TestAccuracy, last.TrainLoss, seconds);
    }

    /// <summary><c>best epoch 4 of 5: test acc 90.60 %; final test acc 90.48 %; training time 43.2 s</c>.</summary>
    public override string ToString() => double.IsNaN(FinalTestAccuracy)
        ? string.Create(CultureInfo.InvariantCulture, $"best epoch {BestEpoch} of {Epochs} (lowest training loss); final train loss {FinalTrainLoss:F4}; training time {TotalSeconds:F1} s")
        : string.Create(CultureInfo.InvariantCulture, $"best epoch {BestEpoch} of {Epochs}: test acc {BestTestAccuracy * 100:F2} %; final test acc {FinalTestAccuracy * 100:F2} %; training time {TotalSeconds:F1} s");

    /// <summary>m:ss, or h:mm:ss from an hour on.</summary>
    public static string Clock(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}")
        : string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes}:{t.Seconds:D2}");
}

/// <summary>Plain-text progress for programs without a console library: on a terminal one line redrawn in place; when the
/// output is redirected (CI logs, files) a line at every quarter of an epoch, so logs stay short and readable.</summary>
public sealed class TextProgress : IProgress<TrainingProgress>
{
    private readonly TextWriter _out;
    private readonly bool _inPlace;
    private int _lastQuarter = -1, _lastEpoch;

    /// <param name="output">Where to write (e.g. <see cref="Console.Out"/>).</param>
    /// <param name="inPlace">Redraw one line with a carriage return (a terminal); false writes whole lines.</param>
    public TextProgress(TextWriter output, bool inPlace)
    {
        ArgumentNullException.ThrowIfNull(output);
        (_out, _inPlace) = (output, inPlace);
    }

    /// <summary>For the console: in place unless the output is redirected.</summary>
    public static TextProgress ForConsole() => new(Console.Out, !Console.IsOutputRedirected);

    public void Report(TrainingProgress value)
    {
        if (_inPlace)
        {
            const int width = 20;
            int filled = (int)Math.Round(value.EpochFraction * width);
            _out.Write("\r[" + new string('#', filled) + new string('.', width - filled) + "] " + value);
            if (value.IsEpochEnd) _out.Write("\r" + new string(' ', 40 + value.ToString().Length) + "\r");
            _out.Flush();
            return;
        }
        int quarter = (int)Math.Floor(value.EpochFraction * 4);
        if (value.Epoch != _lastEpoch) (_lastEpoch, _lastQuarter) = (value.Epoch, 0);
        if (quarter > _lastQuarter && quarter < 4)
        {
            _lastQuarter = quarter;
            _out.WriteLine(value.ToString());
        }
    }
}
