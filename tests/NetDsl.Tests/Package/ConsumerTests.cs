using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests.Package;

/// <summary>Packs NetDsl and NetDsl.Templates into a folder feed once, in a temporary folder outside the repository with
/// its own package cache (so the packages can only come from that feed) and its own template hive.</summary>
public sealed class PackedFeed : IDisposable
{
    public PackedFeed()
    {
        Directory.CreateDirectory(Feed);
        Directory.CreateDirectory(Projects);
        PackLog = Dotnet.Run(Root, Dotnet.Env(this), "pack", Path.Combine(RepoRoot, "src", "NetDsl", "NetDsl.csproj"), "-c", "Release", "-o", Feed)
            + Dotnet.Run(Root, Dotnet.Env(this), "pack", Path.Combine(RepoRoot, "templates", "NetDsl.Templates", "NetDsl.Templates.csproj"), "-c", "Release", "-o", Feed);
        var package = Directory.GetFiles(Feed, "NetDsl.*.nupkg").Select(Path.GetFileName)
            .Single(f => !f!.StartsWith("NetDsl.Templates.", StringComparison.Ordinal) && !f.EndsWith(".snupkg", StringComparison.Ordinal))!;
        Version = package["NetDsl.".Length..^".nupkg".Length];
        // The feed for NetDsl*, the usual source for anything else: what a user's nuget.config would say.
        File.WriteAllText(Path.Combine(Projects, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="netdsl-local" value="{Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="netdsl-local"><package pattern="NetDsl" /><package pattern="NetDsl.*" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);
    }

    public static string RepoRoot { get; } = FindRepoRoot();
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "netdsl-consumer-" + Guid.NewGuid().ToString("N")[..12]);
    public string Feed => Path.Combine(Root, "feed");
    public string Packages => Path.Combine(Root, "packages");
    public string Hive => Path.Combine(Root, "template-hive");
    public string Projects => Path.Combine(Root, "projects");
    public string Version { get; }
    public string PackLog { get; }

    /// <summary>A console project referencing NetDsl by version only, with <paramref name="program"/> as Program.cs.</summary>
    public string CreateProject(string name, string program, string extraProjectXml = "")
    {
        string dir = Path.Combine(Projects, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="NetDsl" Version="{Version}" />
              </ItemGroup>
            {extraProjectXml}
            </Project>
            """);
        File.WriteAllText(Path.Combine(dir, "Program.cs"), program);
        return dir;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "NetDsl.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no NetDsl.sln above {AppContext.BaseDirectory}");
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Runs the dotnet CLI as a user would, with no build servers left behind (they would hold the output pipes open).</summary>
public static class Dotnet
{
    public static Dictionary<string, string> Env(PackedFeed feed) => new()
    {
        ["NUGET_PACKAGES"] = feed.Packages,
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
        ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
        ["MSBUILDDISABLENODEREUSE"] = "1",
        ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        ["UseSharedCompilation"] = "false",
    };

    /// <summary>Runs <c>dotnet args</c> in <paramref name="dir"/>; throws with the output when it fails.</summary>
    public static string Run(string dir, Dictionary<string, string> env, params string[] args)
    {
        var (code, output) = TryRun(dir, env, args);
        if (code != 0) throw new InvalidOperationException($"dotnet {string.Join(' ', args)} exited with {code}:\n{output}");
        return output;
    }

    public static (int ExitCode, string Output) TryRun(string dir, Dictionary<string, string> env, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        // The test host runs under `dotnet test`, whose MSBuild settings must not leak into a user's build.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        foreach (var (k, v) in env) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        var lockObj = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (lockObj) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (lockObj) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} ran over 5 minutes:\n{output}");
        }
        process.WaitForExit();
        lock (lockObj) return (process.ExitCode, output.ToString());
    }

    /// <summary>Distinct "error CODE:" diagnostics in a build log (MSBuild repeats each in its summary).</summary>
    public static string[] Errors(string log) =>
        Regex.Matches(log, @"error ([A-Z]+[0-9]+):").Select(m => m.Groups[1].Value).ToArray();
}

/// <summary>NetDsl as a user gets it: from the packed NetDsl package in a folder feed, in projects outside this repository.</summary>
[Trait("Category", "Consumer")]
[Collection(nameof(ConsumerCollection))]
public sealed class ConsumerTests(PackedFeed feed, ITestOutputHelper output)
{
    private const string Network = """
        [Network(1, 12, 12)]
        [Conv2D(4, 3, Padding = 1)] [ReLU]
        [MaxPool2D(2)]
        [Conv2D(8, 3)] [ReLU]
        [Dense(3)]
        public partial class TinyNet;
        """;

    // Trains on three classes of 12×12 images (a bright row, column or diagonal), saves, reloads into a differently
    // seeded network and compares the two networks' outputs: they must be equal to the bit.
    private const string TrainSaveReload = """
        using System.Globalization;

        var random = new Random(5);
        int count = 240;
        var pixels = new float[count * 144];
        var labels = new int[count];
        for (int n = 0; n < count; n++)
        {
            int label = n % 3, k = 2 + random.Next(8);
            labels[n] = label;
            for (int i = 0; i < 12; i++)
            {
                int at = label switch { 0 => k * 12 + i, 1 => i * 12 + k, _ => i * 12 + i };
                pixels[n * 144 + at] = 1f;
            }
            for (int p = 0; p < 144; p++) pixels[n * 144 + p] += 0.3f * (float)random.NextDouble();
        }
        var data = new LabeledImages(pixels, labels, 1, 12, 12, classCount: 3);
        using var net = new TinyNet(maxBatch: 16, seed: 2);
        Console.WriteLine($"parameters: {TinyNet.ParameterCount}");
        var reports = Trainer.Fit(net, data, data, new SoftmaxCrossEntropy(), new Adam(5e-3f),
            new TrainingOptions { Epochs = 3, BatchSize = 16, OnEpoch = r => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {r.Epoch} loss {r.TrainLoss:F4} acc {r.TestAccuracy:F4}")) });
        Console.WriteLine(TrainingSummary.Of(reports));
        SafeTensors.Save("tiny.safetensors", net);
        using var reloaded = new TinyNet(maxBatch: 16, seed: 99);
        SafeTensors.Load("tiny.safetensors", reloaded);
        var a = net.Forward(pixels.AsSpan(0, 16 * TinyNet.InputSize), 16).ToArray();
        var b = reloaded.Forward(pixels.AsSpan(0, 16 * TinyNet.InputSize), 16).ToArray();
        Console.WriteLine($"reloaded outputs equal: {a.SequenceEqual(b)}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"final accuracy {reports[^1].TestAccuracy:F4}"));
        """;

    [Fact]
    public void PackedPackageRestoresFromTheFeedBuildsTrainsSavesAndReloads()
    {
        string dir = feed.CreateProject("Good", TrainSaveReload + "\n" + Network);
        var env = Dotnet.Env(feed);
        string restore = Dotnet.Run(dir, env, "restore", "-v", "n");
        output.WriteLine(restore);
        // The package in the cache came from the folder feed (the cache is this test's own, so nothing else could have put it there).
        string metadata = File.ReadAllText(Path.Combine(feed.Packages, "netdsl", feed.Version.ToLowerInvariant(), ".nupkg.metadata"));
        Assert.Contains(feed.Feed, metadata);
        string run = Dotnet.Run(dir, env, "run", "-c", "Release", "--no-restore");
        output.WriteLine(run);
        Assert.Contains($"parameters: {4 * 9 + 4 + 8 * 4 * 9 + 8 + 3 * 8 * 4 * 4 + 3}", run);
        Assert.Contains("reloaded outputs equal: True", run);
        double accuracy = double.Parse(Regex.Match(run, @"final accuracy ([0-9.]+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(accuracy > 0.9, $"three easy classes should be learned in 3 epochs; accuracy {accuracy}\n{run}");

        // The package's NativeAOT default: x86-64-v3 for x64 unless the project chooses; nothing for other architectures.
        string IlcInstructionSet(params string[] properties) =>
            Dotnet.Run(dir, env, ["msbuild", "-getProperty:IlcInstructionSet", "-p:PublishAot=true", .. properties]).Trim();
        Assert.Equal("x86-64-v3", IlcInstructionSet("-p:RuntimeIdentifier=linux-x64"));
        Assert.Equal("x86-64-v4", IlcInstructionSet("-p:RuntimeIdentifier=linux-x64", "-p:IlcInstructionSet=x86-64-v4"));
        Assert.Equal("native", IlcInstructionSet("-p:RuntimeIdentifier=win-x64", "-p:NetDslAotInstructionSet=native"));
        Assert.Equal("", IlcInstructionSet("-p:RuntimeIdentifier=linux-x64", "-p:NetDslAotInstructionSet=none"));
        Assert.Equal("", IlcInstructionSet("-p:RuntimeIdentifier=linux-arm64"));
    }

    [Fact]
    public void AShapeBugFailsTheBuildWithTheNdslError()
    {
        // A third 3×3 convolution without padding: 6×6 → pool 3×3 → 1×1 → nothing left for a 3×3 window.
        string buggy = Network.Replace("[Conv2D(8, 3)] [ReLU]", "[Conv2D(8, 3)] [ReLU]\n[MaxPool2D(2)]\n[Conv2D(8, 3)]", StringComparison.Ordinal);
        string dir = feed.CreateProject("ShapeBug", "Console.WriteLine(TinyNet.Summary);\n" + buggy);
        var (code, log) = Dotnet.TryRun(dir, Dotnet.Env(feed), "build", "-c", "Release");
        output.WriteLine(log);
        Assert.NotEqual(0, code);
        Assert.Contains("error NDSL0201", log);
        Assert.Contains("conv3 (layer", log);
    }

    [Fact]
    public void WithoutTheGeneratorTheBuildFailsWithOneErrorThatSaysSo()
    {
        // The generator dropped from the analyzers (what an IncludeAssets/ExcludeAssets mistake or a custom target does).
        const string dropGenerator = """
              <Target Name="DropNetDslGenerator" AfterTargets="ResolveLockFileAnalyzers">
                <ItemGroup><Analyzer Remove="@(Analyzer)" Condition="'%(Filename)' == 'NetDsl.Generators'" /></ItemGroup>
              </Target>
            """;
        string program = "Console.WriteLine(TinyNet.Summary);\nusing var net = new TinyNet(4);\nConsole.WriteLine(net.Forward(new float[4 * TinyNet.InputSize], 4).Length);\n" + Network;
        string dir = feed.CreateProject("NoGenerator", program, dropGenerator);
        var (code, log) = Dotnet.TryRun(dir, Dotnet.Env(feed), "build", "-c", "Release");
        output.WriteLine(log);
        Assert.NotEqual(0, code);
        Assert.Equal(["NDSL0900"], Dotnet.Errors(log).Distinct());

        // A compiler older than the Roslyn the generator is built against would drop it with warning CS9057.
        string dir2 = feed.CreateProject("OldCompiler", program);
        var (code2, log2) = Dotnet.TryRun(dir2, Dotnet.Env(feed), "build", "-c", "Release", "-p:CompilerApiVersion=roslyn4.8");
        output.WriteLine(log2);
        Assert.NotEqual(0, code2);
        Assert.Equal(["NDSL0901"], Dotnet.Errors(log2).Distinct());
        Assert.Contains("Roslyn 4.14 or later", log2);
    }

    [Fact]
    public void TheTemplatesInstallFromThePackageAndTheirProjectsBuildAndTrain()
    {
        var env = Dotnet.Env(feed);
        string nupkg = Path.Combine(feed.Feed, $"NetDsl.Templates.{feed.Version}.nupkg");
        string install = Dotnet.Run(feed.Projects, env, "new", "install", nupkg, "--debug:custom-hive", feed.Hive);
        output.WriteLine(install);
        Assert.Contains("netdsl-classifier", install);
        Assert.Contains("netdsl-segmentation", install);

        // Default parameters: the template's own NetDsl version must be the packed one (the feed has no other).
        Dotnet.Run(feed.Projects, env, "new", "netdsl-classifier", "-n", "Starter", "--debug:custom-hive", feed.Hive);
        string dir = Path.Combine(feed.Projects, "Starter");
        string run = Dotnet.Run(dir, env, "run", "-c", "Release", "--", "--epochs", "2", "--train", "1500", "--test", "300");
        output.WriteLine(run);
        Assert.Contains("best epoch", run);
        Assert.Contains("top-5 accuracy", run);
        Assert.True(File.Exists(Path.Combine(dir, "confusion.png")), "the classifier starter writes confusion.png");
        double reloaded = double.Parse(Regex.Match(run, @"reloaded: test acc ([0-9.]+) %").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(reloaded > 50, $"ten bar angles should be learned well above chance (10 %) in 2 epochs; got {reloaded} %\n{run}");

        Dotnet.Run(feed.Projects, env, "new", "netdsl-segmentation", "-n", "Segmenter", "--NetDslVersion", feed.Version, "--debug:custom-hive", feed.Hive);
        string segDir = Path.Combine(feed.Projects, "Segmenter");
        string seg = Dotnet.Run(segDir, env, "run", "-c", "Release", "--", "--epochs", "1", "--train", "400", "--test", "100");
        output.WriteLine(seg);
        Assert.Matches(@"epoch 1  train loss [0-9.]+  test IoU [0-9.]+", seg);
        Assert.Contains("saved unet.safetensors; reloaded: test IoU", seg);
    }
}

[CollectionDefinition(nameof(ConsumerCollection))]
public sealed class ConsumerCollection : ICollectionFixture<PackedFeed>;
