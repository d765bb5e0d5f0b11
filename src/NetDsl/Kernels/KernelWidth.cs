namespace NetDsl.Kernels;

/// <summary>A kernel width as a type argument (<see cref="W1"/> … <see cref="W5"/>): a generic kernel method over it is
/// compiled once per width, so its accumulators for the taps of a kernel row are named locals the JIT keeps in
/// registers, and the tests of the width inside its loops are constants (the branches fold away).</summary>
internal interface IKernelWidth { static abstract int N { get; } }
internal readonly struct W1 : IKernelWidth { public static int N => 1; }
internal readonly struct W2 : IKernelWidth { public static int N => 2; }
internal readonly struct W3 : IKernelWidth { public static int N => 3; }
internal readonly struct W4 : IKernelWidth { public static int N => 4; }
internal readonly struct W5 : IKernelWidth { public static int N => 5; }
