using System;
using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Gpu;

/// <summary>
/// A page-locked host buffer that a twin's per-step transfers go through (inputs, labels, targets and output gradients in;
/// outputs, per-sample losses and input gradients out). The device's copy engine reads and writes page-locked memory
/// directly; from pageable memory (a plain array) the driver first copies into a pinned buffer of its own, a chunk at a
/// time. Allocated once, at the twin's largest batch. An upload is asynchronous, so the host buffer may be rewritten only
/// once the stream has passed it: a twin's calls end synchronized, and an upload that follows one not yet waited for (a
/// call that threw between its upload and its end) waits first.
/// </summary>
internal sealed class PinnedStaging<T> : IDisposable where T : unmanaged
{
    private readonly AcceleratorStream _stream;
    private readonly PageLockedArray1D<T> _host;
    private bool _uploadQueued;

    public PinnedStaging(Accelerator accelerator, long length)
    {
        _stream = accelerator.DefaultStream;
        _host = accelerator.AllocatePageLocked1D<T>(Math.Max(1, length), uninitialized: false);
    }

    /// <summary>Copies <paramref name="data"/> into the page-locked buffer, then queues its copy to the start of
    /// <paramref name="target"/> on the default stream (after the kernels already queued, before the ones that follow).</summary>
    public void Upload(ReadOnlySpan<T> data, ArrayView<T> target)
    {
        if (data.Length == 0) return;
        if (data.Length > _host.Length) throw new ArgumentException($"{data.Length} elements exceed the staging buffer's {_host.Length}", nameof(data));
        if (_uploadQueued) _stream.Synchronize();
        data.CopyTo(_host.Span);
        target.SubView(0, data.Length).CopyFrom(_stream, _host.ArrayView.SubView(0, data.Length));
        _uploadQueued = true;
    }

    /// <summary>Queues the copy of the start of <paramref name="source"/> into the page-locked buffer, waits for the stream,
    /// and copies the result into <paramref name="data"/>.</summary>
    public void Download(ArrayView<T> source, Span<T> data)
    {
        if (data.Length == 0) return;
        if (data.Length > _host.Length) throw new ArgumentException($"{data.Length} elements exceed the staging buffer's {_host.Length}", nameof(data));
        source.SubView(0, data.Length).CopyTo(_stream, _host.ArrayView.SubView(0, data.Length));
        _stream.Synchronize();
        _uploadQueued = false;
        _host.Span[..data.Length].CopyTo(data);
    }

    public void Dispose() => _host.Dispose();
}
