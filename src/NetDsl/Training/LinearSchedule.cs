using System;

namespace NetDsl.Training;

/// <summary>Linear interpolation from η0 to η1 over <c>length</c> counts, then held: η = η0 + (η1 − η0)·min(n, T)/T
/// (numpy's <c>linspace(η0, η1, T + 1)[n]</c>, as nolearn's facial-keypoints recipe uses per epoch: T = epochs − 1).
/// Rising or falling; also a momentum schedule (<see cref="TrainingOptions.MomentumSchedule"/>).</summary>
public sealed class LinearSchedule : LearningRateSchedule
{
    public LinearSchedule(float initialRate, float finalRate, long length, ScheduleUnit unit = ScheduleUnit.Epoch) : base(initialRate, unit)
    {
        if (!(finalRate >= 0) || float.IsInfinity(finalRate))
            throw new ArgumentOutOfRangeException(nameof(finalRate), finalRate, $"finalRate (η1) must be finite and >= 0, got {finalRate}");
        if (length < 1) throw new ArgumentOutOfRangeException(nameof(length), length, $"length (T) must be >= 1, got {length}");
        FinalRate = finalRate;
        Length = length;
    }

    /// <summary>η1, reached at n = T.</summary>
    public float FinalRate { get; }
    /// <summary>T.</summary>
    public long Length { get; }

    protected override double Compute(long n) => InitialRate + ((double)FinalRate - InitialRate) * Math.Min(n, Length) / Length;
}
