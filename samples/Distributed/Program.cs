using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using FashionMnistSample;
using NetDsl;
using NetDsl.Data;
using NetDsl.Distributed;
using NetDsl.Training;

namespace DistributedSample;

/// <summary>Synchronous data-parallel training of the Fashion-MNIST networks: one process per rank, started by mpiexec.</summary>
public static class Program
{
    private const string Usage = """
        usage: mpiexec -n N dotnet Distributed.dll [--net cnn|lenet5] [--epochs N] [--batch N] [--lr X] [--momentum X]
                                                   [--seed N] [--threads N] [--data DIR] [--subset] [--limit N]
                                                   [--save FILE] [--checkpoints DIR] [--resume FILE]
                                                   [--allreduce-rounds N] [--time-wait] [--no-mpi]
          --batch N    the global batch: each step's N samples are split between the ranks (default 64)
          --threads N  workers per rank (default: the machine's cores / the ranks on this machine)
          --limit N    train on the first N training images only
          --save FILE  rank 0 writes the weights as safetensors after every epoch
          --checkpoints DIR  rank 0 writes a full checkpoint (weights, optimizer state, position) after every epoch
          --resume FILE      every rank resumes from that checkpoint (one written at an epoch's end)
          --time-wait  a barrier before each allreduce, to report waiting for the slower rank apart from the transfer
          --no-mpi     one process without MPI (the baseline for the scaling figure)
          --allreduce-rounds N  after training, time N bare allreduces of the gradient buffer (default 50; 0: skip)
        """;

    public static int Main(string[] args)
    {
        ICommunicator? communicator = null;
        try
        {
            bool noMpi = Array.IndexOf(args, "--no-mpi") >= 0;
            if (noMpi) communicator = InProcessCommunicator.Create(1)[0];
            else
            {
                var mpi = MpiCommunicator.Initialize();
                communicator = mpi;
                if (mpi.Rank == 0) Console.WriteLine($"[rank 0] MPI: {mpi.Library} ({mpi.LibraryVersion}), {mpi.Size} ranks");
            }
            int code = Run(communicator, args);
            communicator.Dispose();
            return code;
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or DllNotFoundException or NotSupportedException
                                   or MpiException or InvalidOperationException)
        {
            string rank = communicator is null ? "" : $"[rank {communicator.Rank}] ";
            Console.Error.WriteLine($"{rank}error: {e.Message}");
            if (e is ArgumentException) Console.Error.WriteLine(Usage);
            // The other ranks would wait forever in their next collective: end the whole job.
            if (communicator is MpiCommunicator { Size: > 1 } world) world.Abort(2);
            return 2;
        }
    }

    private static int Run(ICommunicator communicator, string[] args)
    {
        string net = "cnn";
        int epochs = 1, batch = 64, seed = 1, threads = 0, limit = 0, allreduceRounds = 50;
        float lr = 0.01f, momentum = 0.9f;
        bool subset = false, timeWait = false;
        string? dataDir = null, save = null, checkpoints = null, resume = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--net": net = Next().ToLowerInvariant(); break;
                case "--epochs": epochs = ParseInt(Next(), "--epochs", 0); break;
                case "--batch": batch = ParseInt(Next(), "--batch", 1); break;
                case "--lr": lr = ParseFloat(Next(), "--lr"); break;
                case "--momentum": momentum = ParseFloat(Next(), "--momentum"); break;
                case "--seed": seed = ParseInt(Next(), "--seed", int.MinValue); break;
                case "--threads": threads = ParseInt(Next(), "--threads", 0); break;
                case "--limit": limit = ParseInt(Next(), "--limit", 1); break;
                case "--data": dataDir = Next(); break;
                case "--subset": subset = true; break;
                case "--save": save = Next(); break;
                case "--checkpoints": checkpoints = Next(); break;
                case "--resume": resume = Next(); break;
                case "--allreduce-rounds": allreduceRounds = ParseInt(Next(), "--allreduce-rounds", 0); break;
                case "--time-wait": timeWait = true; break;
                case "--no-mpi": break;
                case "-h" or "--help": if (communicator.Rank == 0) Console.WriteLine(Usage); return 0;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }
        if (net is not ("lenet5" or "cnn")) throw new ArgumentException($"--net must be lenet5 or cnn, got '{net}'");
        if (dataDir is not null && FashionMnist.FindFullDataDirectory(dataDir) != dataDir)
            throw new ArgumentException($"--data {dataDir}: the folder does not hold the four Fashion-MNIST files ({FashionMnist.TrainImages}[.gz], ...)");

        int rank = communicator.Rank, size = communicator.Size;
        void Say(string line) => Console.WriteLine($"[rank {rank}] {line}");

        // Every rank loads the whole set (60k images are 188 MB of floats); each trains on its shard of every batch.
        string? full = subset ? null : FashionMnist.FindFullDataDirectory(dataDir);
        string dir = full ?? Path.Combine(AppContext.BaseDirectory, "data");
        var (train, test) = FashionMnist.Load(dir);
        if (limit > 0 && limit < train.Count) train = train.Take(limit);

        // Ranks on one machine share its cores; Hydra (MPICH's mpiexec) says how many ranks run here.
        int localRanks = int.TryParse(Environment.GetEnvironmentVariable("MPI_LOCALNRANKS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int l) && l > 0 ? l : size;
        if (threads == 0) threads = Math.Max(1, Environment.ProcessorCount / localRanks);
        int perRank = (batch + size - 1) / size;
        using var disposable = (IDisposable)(net == "lenet5" ? new LeNet5(perRank, seed, threads) : new Cnn(perRank, seed, threads));
        var network = (INetwork)disposable;
        if (rank == 0)
        {
            Say($"data: {dir} ({(full is null ? "shipped subset" : "full set")}): {train.Count} training, {test.Count} test images");
            Say($"{net}: {network.ParameterCount} parameters; allreduce per step: {4L * network.ParameterCount} bytes");
            Say(string.Create(CultureInfo.InvariantCulture,
                $"training: {epochs} epochs, global batch {batch} = {size} ranks × ≤{perRank}, sgd lr {lr} momentum {momentum}, seed {seed}"));
        }
        var (shardStart, shardCount) = DistributedTrainer.Shard(Math.Min(batch, train.Count), rank, size);
        Say($"pid {Environment.ProcessId}, {threads} worker thread(s), shard of each batch: samples {shardStart}..{shardStart + shardCount - 1}");

        var reports = DistributedTrainer.Fit(communicator, network, train, test, new SoftmaxCrossEntropy(), new Sgd(lr, momentum),
            new TrainingOptions
            {
                Epochs = epochs,
                BatchSize = batch,
                Seed = seed,
                OnEpoch = r => Say(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {r.Epoch,2}  train loss {r.TrainLoss:F4}  train acc {r.TrainAccuracy:P2}  test loss {r.TestLoss:F4}  test acc {r.TestAccuracy:P2}  {r.Seconds:F1} s  {r.SamplesPerSecond:F0} samples/s (all ranks)")),
            },
            new DistributedOptions
            {
                WeightsPath = save,
                CheckpointDirectory = checkpoints,
                ResumeFrom = resume,
                TimeWaitSeparately = timeWait,
                OnEpoch = r => Say(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {r.Global.Epoch,2}  {r.LocalSamples} samples here, {r.Steps} steps: compute {r.ComputeSeconds:F2} s, ")
                    + (timeWait ? string.Create(CultureInfo.InvariantCulture, $"waiting for the other rank {r.WaitSeconds * 1000 / Math.Max(1, r.Steps):F3} ms/step, ") : "")
                    + string.Create(CultureInfo.InvariantCulture,
                    $"allreduce {r.AllreduceSeconds:F3} s = {r.AllreduceMillisecondsPerStep:F3} ms/step ({100 * r.AllreduceSeconds / r.Global.Seconds:F1} % of the epoch)")),
            });

        if (allreduceRounds > 0 && size > 1)
        {
            // The bare cost of one step's allreduce (no waiting for a slower rank): a barrier, then back-to-back calls.
            var buffer = new float[network.ParameterCount];
            var times = new double[allreduceRounds];
            communicator.Barrier();
            for (int i = 0; i < allreduceRounds; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                communicator.AllreduceSum(buffer);
                times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
            Array.Sort(times);
            double median = times[times.Length / 2];
            Say(string.Create(CultureInfo.InvariantCulture,
                $"bare allreduce of {network.ParameterCount} floats ({4.0 * network.ParameterCount / 1e6:F2} MB): median {median:F3} ms, min {times[0]:F3} ms over {allreduceRounds} calls"));
        }
        if (rank == 0 && reports.Count > 0)
            Say(string.Create(CultureInfo.InvariantCulture, $"done: {reports[^1].SamplesPerSecond:F0} samples/s in the last epoch with {size} rank(s)")
                + (save is null ? "" : $", weights in {save}"));
        return 0;
    }

    private static int ParseInt(string s, string option, int min) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min
            ? v : throw new ArgumentException($"{option} expects an integer ≥ {min}, got '{s}'");

    private static float ParseFloat(string s, string option) =>
        float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v) && v >= 0
            ? v : throw new ArgumentException($"{option} expects a non-negative number, got '{s}'");
}
