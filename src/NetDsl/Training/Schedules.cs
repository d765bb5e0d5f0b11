using System;

namespace NetDsl.Training;

/// <summary>What a schedule's counter n counts.</summary>
public enum ScheduleUnit
{
    /// <summary>n is the epoch, from 0; the rate is set once before each epoch.</summary>
    Epoch,
    /// <summary>n is the optimizer step (one per mini-batch), from 0 across epochs; the rate is set before every step.</summary>
    Step,
}

/// <summary>A learning rate as a function of a counter n (epochs or steps, from 0). Rates are computed in double
/// and rounded once to float. <see cref="Trainer"/> applies a schedule given in <see cref="TrainingOptions.Schedule"/>.</summary>
public abstract class LearningRateSchedule
{
    protected LearningRateSchedule(float initialRate, ScheduleUnit unit)
    {
        if (!(initialRate >= 0) || float.IsInfinity(initialRate))
            throw new ArgumentOutOfRangeException(nameof(initialRate), initialRate, $"initialRate (η0) must be finite and >= 0, got {initialRate}");
        if (unit is not (ScheduleUnit.Epoch or ScheduleUnit.Step))
            throw new ArgumentOutOfRangeException(nameof(unit), unit, "unit must be ScheduleUnit.Epoch or ScheduleUnit.Step");
        InitialRate = initialRate;
        Unit = unit;
    }

    /// <summary>η0.</summary>
    public float InitialRate { get; }
    public ScheduleUnit Unit { get; }

    /// <summary>The rate for counter <paramref name="n"/> (≥ 0).</summary>
    public float RateAt(long n)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, $"the schedule counter must be >= 0, got {n}");
        return (float)Compute(n);
    }

    /// <summary>The rate for an epoch (from 0) and a global step (from 0), by <see cref="Unit"/>.</summary>
    public float RateFor(int epoch, long step) => RateAt(Unit == ScheduleUnit.Epoch ? epoch : step);

    protected abstract double Compute(long n);

    protected static double Positive(double value, string name)
    {
        if (!(value > 0) || double.IsInfinity(value)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and > 0, got {value}");
        return value;
    }

    protected static double NonNegative(double value, string name)
    {
        if (!(value >= 0) || double.IsInfinity(value)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and >= 0, got {value}");
        return value;
    }
}

/// <summary>η = η0.</summary>
public sealed class ConstantRate(float initialRate, ScheduleUnit unit = ScheduleUnit.Epoch) : LearningRateSchedule(initialRate, unit)
{
    protected override double Compute(long n) => InitialRate;
}

/// <summary>Step decay: η = η0·γ^⌊n / stepSize⌋ (PyTorch's <c>StepLR</c>).</summary>
public sealed class StepDecay : LearningRateSchedule
{
    public StepDecay(float initialRate, int stepSize, double gamma = 0.1, ScheduleUnit unit = ScheduleUnit.Epoch) : base(initialRate, unit)
    {
        if (stepSize < 1) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, $"stepSize must be >= 1, got {stepSize}");
        StepSize = stepSize;
        Gamma = NonNegative(gamma, nameof(gamma));
    }

    public int StepSize { get; }
    public double Gamma { get; }

    protected override double Compute(long n) => InitialRate * Math.Pow(Gamma, n / StepSize);
}

/// <summary>Inverse time decay: η = η0 / (1 + κ·n), so η = η0 at n = 0.</summary>
public sealed class InverseTimeDecay : LearningRateSchedule
{
    public InverseTimeDecay(float initialRate, double kappa, ScheduleUnit unit = ScheduleUnit.Epoch) : base(initialRate, unit)
        => Kappa = NonNegative(kappa, nameof(kappa));

    public double Kappa { get; }

    protected override double Compute(long n) => InitialRate / (1 + Kappa * n);
}

/// <summary>The lecture notes' form η = η0 / (n + κ) (κ &gt; 0; the rate at n = 0 is η0/κ, so κ = 1 starts at η0).</summary>
public sealed class ShiftedInverseDecay : LearningRateSchedule
{
    public ShiftedInverseDecay(float initialRate, double kappa, ScheduleUnit unit = ScheduleUnit.Step) : base(initialRate, unit)
        => Kappa = Positive(kappa, nameof(kappa));

    public double Kappa { get; }

    protected override double Compute(long n) => InitialRate / (n + Kappa);
}

/// <summary>Exponential decay, the notes' η = η0·e^(−κn).</summary>
public sealed class ExponentialDecay : LearningRateSchedule
{
    public ExponentialDecay(float initialRate, double kappa, ScheduleUnit unit = ScheduleUnit.Epoch) : base(initialRate, unit)
        => Kappa = NonNegative(kappa, nameof(kappa));

    public double Kappa { get; }

    protected override double Compute(long n) => InitialRate * Math.Exp(-Kappa * n);
}

/// <summary>Cosine annealing: η = ηmin + (η0 − ηmin)·(1 + cos(π·n/T))/2 for n ≤ T, and ηmin after T
/// (PyTorch's <c>CosineAnnealingLR</c> closed form, held at its minimum instead of rising again).</summary>
public sealed class CosineAnnealing : LearningRateSchedule
{
    public CosineAnnealing(float initialRate, int period, float minimumRate = 0f, ScheduleUnit unit = ScheduleUnit.Epoch) : base(initialRate, unit)
    {
        if (period < 1) throw new ArgumentOutOfRangeException(nameof(period), period, $"period (T) must be >= 1, got {period}");
        if (!(minimumRate >= 0) || minimumRate > initialRate)
            throw new ArgumentOutOfRangeException(nameof(minimumRate), minimumRate, $"minimumRate must be between 0 and initialRate {initialRate}, got {minimumRate}");
        Period = period;
        MinimumRate = minimumRate;
    }

    public int Period { get; }
    public float MinimumRate { get; }

    protected override double Compute(long n)
    {
        if (n >= Period) return MinimumRate;
        return MinimumRate + ((double)InitialRate - MinimumRate) * (1 + Math.Cos(Math.PI * n / Period)) / 2;
    }
}
