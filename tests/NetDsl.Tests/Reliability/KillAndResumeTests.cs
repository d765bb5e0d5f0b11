using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading;
using NetDsl.Tests.IO;
using NetDsl.Training;
using Shouldly;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests.Reliability;

public class KillAndResumeTests(ITestOutputHelper output)
{
    /// <summary>Starts the training run as a child process, SIGKILLs it at random points (between steps, during the
    /// optimizer update, in the middle of writing a checkpoint) again and again, resumes it each time from its checkpoint
    /// folder, and compares its final parameters and batch-norm statistics with an uninterrupted in-process run: they must
    /// be bit-identical. NETDSL_KILL_SEED replays a sequence of kill points.</summary>
    [Fact]
    public void KilledAtRandomPointsAndResumedEndsBitIdenticalToAnUninterruptedRun()
    {
        var reference = ResumeChild.Run(null);
        using var dir = new TempDir();
        string folder = dir.File("checkpoints");
        int seed = int.TryParse(Environment.GetEnvironmentVariable("NETDSL_KILL_SEED"), out int s) ? s : Environment.TickCount & 0xFFFF;
        var rng = new Random(seed);
        int totalSteps = ResumeChild.Epochs * ResumeChild.Samples / ResumeChild.BatchSize;
        int kills = 0, midSave = 0, runs = 0;
        long furthest = -1;
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(folder);
        Process? running = null;
        bool killOnSave = false;
        double saveDelay = 0;
        using var watcher = new FileSystemWatcher(folder, ".ckpt-*.tmp");
        watcher.Created += (_, _) =>
        {
            if (!Volatile.Read(ref killOnSave)) return;
            SpinFor(Volatile.Read(ref saveDelay)); // somewhere in the write, or (if it was quick) just after it
            Volatile.Read(ref running)?.Kill();
        };
        watcher.EnableRaisingEvents = true;
        while (true)
        {
            runs++.ShouldBeLessThan(40, "the child never finished");
            // Enough kills, and at least one during a save: then let the last run finish.
            bool kill = kills < 6 || (midSave == 0 && kills < 30);
            // Every other kill waits for the next checkpoint write to start (its temporary file appears) and kills then.
            bool duringSave = kill && kills % 2 == 1;
            long target = kill ? furthest + 1 + rng.Next(0, 6) : long.MaxValue;
            Volatile.Write(ref saveDelay, rng.NextDouble() * 1.5);
            using var child = Start(folder);
            Volatile.Write(ref running, child);
            bool done = false;
            long last = -1;
            string? line;
            while ((line = child.StandardOutput.ReadLine()) is not null)
            {
                if (line == "done") { done = true; break; }
                if (line.StartsWith("step ", StringComparison.Ordinal)) last = long.Parse(line.AsSpan(5));
                if (last < target) continue;
                if (duringSave) { Volatile.Write(ref killOnSave, true); continue; }
                // A random moment after the step began: during the update, the checkpoint write, or the next steps.
                SpinFor(rng.NextDouble() * 3.0);
                child.Kill(); // SIGKILL on Linux and macOS: no finally blocks, no flush
                break;
            }
            child.WaitForExit();
            Volatile.Write(ref killOnSave, false);
            Volatile.Write(ref running, null);
            furthest = Math.Max(furthest, last);
            if (done)
            {
                child.ExitCode.ShouldBe(0, child.StandardError.ReadToEnd());
                break;
            }
            child.ExitCode.ShouldBe(137, "the child stopped by itself: " + child.StandardError.ReadToEnd());
            kills++;
            var temporaries = Directory.GetFiles(folder, ".ckpt-*.tmp");
            if (temporaries.Length > 0) midSave++;
            output.WriteLine($"kill {kills}: {(duringSave ? "at the next checkpoint write" : "at a random moment")} after step {last}; " +
                $"{(temporaries.Length > 0 ? $"mid-save, left {string.Join(", ", temporaries.Select(t => $"{Path.GetFileName(t)} ({new FileInfo(t).Length} bytes)"))}" : "no save in progress")}; " +
                $"checkpoints: {string.Join(", ", CheckpointFolder.List(folder).Select(Path.GetFileName))}");
        }

        var final = File.ReadAllBytes(Path.Combine(folder, "final.bin"));
        var expected = MemoryMarshal.AsBytes(reference.AsSpan()).ToArray();
        output.WriteLine($"seed {seed}: {kills} SIGKILLs ({midSave} during a checkpoint write), {runs} runs, {totalSteps} steps, {clock.Elapsed.TotalSeconds:F1} s");
        output.WriteLine($"final parameters+buffers: resumed {Hash(final)}, uninterrupted {Hash(expected)}, {reference.Length} floats, bit-identical: {final.AsSpan().SequenceEqual(expected)}");
        Directory.GetFiles(folder, ".ckpt-*.tmp").ShouldBeEmpty("the saves after the crashes remove the temporaries they left");
        CheckpointFolder.List(folder).Count.ShouldBe(2, "Keep = 2");
        kills.ShouldBeGreaterThanOrEqualTo(6);
        midSave.ShouldBeGreaterThan(0, "no kill landed in a checkpoint write");
        final.ShouldBe(expected);
    }

    static Process Start(string folder)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.ArgumentList.Add(typeof(ResumeChild).Assembly.Location);
        info.ArgumentList.Add("resume-child");
        info.ArgumentList.Add(folder);
        return Process.Start(info) ?? throw new InvalidOperationException("could not start the child");
    }

    static void SpinFor(double milliseconds)
    {
        var t = Stopwatch.StartNew();
        while (t.Elapsed.TotalMilliseconds < milliseconds) Thread.SpinWait(20);
    }

    static string Hash(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes))[..16];
}
