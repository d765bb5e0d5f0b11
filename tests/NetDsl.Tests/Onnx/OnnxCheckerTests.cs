using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using NetDsl.Onnx;
using NetDsl.Tests.IO;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests.Onnx;

/// <summary>The ONNX project's own checker (Python package <c>onnx</c>, Debian's <c>python3-onnx</c>) on every exported
/// model, with full_check (strict shape inference). Skipped, and reported as skipped, where the package is not installed.</summary>
public class OnnxCheckerTests
{
    readonly ITestOutputHelper _output;
    public OnnxCheckerTests(ITestOutputHelper output) => _output = output;

    const string Script = """
        import glob, sys, onnx
        files = sorted(glob.glob(sys.argv[1] + '/*.onnx'))
        for f in files:
            try:
                onnx.checker.check_model(onnx.load(f), full_check=True)
                print('ok', f)
            except Exception as e:
                print('FAIL', f, str(e).replace('\n', ' '))
        print('onnx', onnx.__version__)
        """;

    static (int ExitCode, string Output) Run(string python, params string[] args)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception) { return (-1, python + " not found"); }
    }

    static string? PythonWithOnnx() =>
        new[] { "python3", "/usr/bin/python3" }.FirstOrDefault(p => Run(p, "-c", "import onnx").ExitCode == 0);

    [SkippableFact]
    public void EveryExportPassesTheOnnxChecker()
    {
        string? python = PythonWithOnnx();
        Skip.If(python is null, "the Python package onnx is not installed (apt-get install python3-onnx)");
        using var dir = new TempDir();
        foreach (var (name, _, create) in OnnxExportTests.Networks)
        {
            var net = create();
            OnnxModel.Save(dir.File(name.Replace(' ', '_') + ".onnx"), net, name);
            (net as IDisposable)?.Dispose();
        }
        var (exit, output) = Run(python!, "-c", Script, dir.Root);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        _output.WriteLine($"{lines.Count(l => l.StartsWith("ok ", StringComparison.Ordinal))} of {OnnxExportTests.Networks.Length} models pass the checker of {lines.LastOrDefault()}");
        Assert.Equal(0, exit);
        var failures = lines.Where(l => l.StartsWith("FAIL", StringComparison.Ordinal)).ToArray();
        Assert.True(failures.Length == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(OnnxExportTests.Networks.Length, lines.Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
    }
}
