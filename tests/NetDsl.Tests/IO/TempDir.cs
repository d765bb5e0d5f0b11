using System;
using System.IO;

namespace NetDsl.Tests.IO;

/// <summary>A fresh folder per test, deleted afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Root);

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "netdsl-io-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => Path.Combine(Root, name);

    /// <summary>Files in the folder, e.g. to check that no temporary file was left behind.</summary>
    public string[] Names() => Array.ConvertAll(Directory.GetFileSystemEntries(Root), p => Path.GetFileName(p)!);

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
