using System;
using System.Linq;
using NetDsl.Distributed;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Distributed;

public class CommunicatorTests
{
    [Fact]
    public void InProcessAllreduceGivesEveryRankTheSumOverRanks()
    {
        const int size = 3, length = 1000;
        var results = InProcessCommunicator.Run(size, c =>
        {
            var f = Enumerable.Range(0, length).Select(i => (float)(i * (c.Rank + 1)) + 0.25f * c.Rank).ToArray();
            var d = Enumerable.Range(0, length).Select(i => i * 0.5 + c.Rank).ToArray();
            var l = Enumerable.Range(0, length).Select(i => (long)i << c.Rank).ToArray();
            var m = Enumerable.Range(0, length).Select(i => (double)((i + c.Rank) % size)).ToArray();
            c.AllreduceSum(f);
            c.AllreduceSum(d);
            c.AllreduceSum(l);
            c.AllreduceMax(m);
            return (f, d, l, m);
        });
        for (int r = 0; r < size; r++)
            for (int i = 0; i < length; i++)
            {
                // Σ_r i·(r+1) + 0.25·r = 6i + 0.75; Σ_r (0.5i + r) = 1.5i + 3; Σ_r i·2^r = 7i; max over r of (i+r) mod 3 = 2.
                results[r].f[i].ShouldBe(6f * i + 0.75f);
                results[r].d[i].ShouldBe(1.5 * i + 3);
                results[r].l[i].ShouldBe(7L * i);
                results[r].m[i].ShouldBe(2.0);
            }
    }

    [Fact]
    public void InProcessBroadcastCopiesTheRootsDataAndBarrierJoinsAll()
    {
        var results = InProcessCommunicator.Run(4, c =>
        {
            var data = new float[] { c.Rank, c.Rank * 10, -c.Rank };
            var bytes = new byte[] { (byte)c.Rank, 7 };
            c.Broadcast(data, root: 2);
            c.Broadcast(bytes, root: 3);
            c.Barrier();
            return (data, bytes);
        });
        foreach (var (data, bytes) in results)
        {
            data.ShouldBe([2f, 20f, -2f]);
            bytes.ShouldBe(new byte[] { 3, 7 });
        }
    }

    [Fact]
    public void InProcessRanksWithDifferentLengthsFailAndReleaseTheOthers()
    {
        var e = Should.Throw<AggregateException>(() => InProcessCommunicator.Run(2, c =>
        {
            c.AllreduceSum(new float[c.Rank == 0 ? 3 : 4]);
            return 0;
        }));
        e.InnerException!.Message.ShouldContain("every rank must pass the same length");
    }

    [Fact]
    public void ABroadcastFromANonRankIsRefused()
    {
        var c = InProcessCommunicator.Create(2)[0];
        Should.Throw<ArgumentOutOfRangeException>(() => c.Broadcast(new float[1], root: 2)).Message.ShouldContain("root must be a rank, 0 to 1");
    }

    [Theory]
    [InlineData(64, 2)]
    [InlineData(63, 2)]
    [InlineData(10, 3)]
    [InlineData(2, 4)]
    [InlineData(0, 3)]
    public void ShardsCoverEveryItemOnceInRankOrderWithSizesWithinOne(int count, int size)
    {
        int next = 0;
        var sizes = new int[size];
        for (int r = 0; r < size; r++)
        {
            var (start, n) = DistributedTrainer.Shard(count, r, size);
            start.ShouldBe(next);
            next += n;
            sizes[r] = n;
        }
        next.ShouldBe(count);
        (sizes.Max() - sizes.Min()).ShouldBeLessThanOrEqualTo(1);
    }

    [Theory]
    [InlineData("MPICH Version:\t4.0.2\nMPICH Release date:\tThu Apr  7 12:34:45 CDT 2022\nMPICH ABI:\t14:2:2\n")]
    [InlineData("Intel(R) MPI Library 2021.10 for Linux* OS\n")]
    [InlineData("MVAPICH2 Version      :\t2.3.7\n")]
    public void MpichAbiImplementationsAreAccepted(string version) => MpiCommunicator.Unsupported(version).ShouldBeNull();

    [Fact]
    public void OpenMpiIsRefusedWithWhatToInstall()
    {
        // Open MPI 1.10 shipped a libmpi.so.12 too, so the file name alone cannot tell: the version text does.
        var reason = MpiCommunicator.Unsupported("Open MPI v1.10.7, package: Open MPI builder Distribution, ident: 1.10.7, repo rev: v1.10.6-48, May 16, 2017");
        reason.ShouldNotBeNull();
        reason.ShouldContain("Open MPI v1.10.7");
        reason.ShouldContain("apt-get install mpich");
    }

    [Fact]
    public void AnUnknownImplementationIsRefused() =>
        MpiCommunicator.Unsupported("SomeMPI 1.0\n").ShouldNotBeNull().ShouldContain("unknown MPI implementation 'SomeMPI 1.0'");

    [Fact]
    public void AMissingLibrarySaysWhatWasTriedAndWhatToInstall()
    {
        var e = Should.Throw<DllNotFoundException>(() => MpiNative.Find(null, ["libnetdsl-no-such-mpi.so.12"]));
        e.Message.ShouldContain("libnetdsl-no-such-mpi.so.12");
        e.Message.ShouldContain("apt-get install mpich");
        Should.Throw<DllNotFoundException>(() => MpiNative.Find("/nonexistent/libmpi.so.12", MpiNative.Candidates))
            .Message.ShouldContain("NETDSL_MPI_LIBRARY=/nonexistent/libmpi.so.12");
    }
}
