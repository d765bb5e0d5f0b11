using System;
using System.IO;

namespace NetDsl.IO;

/// <summary>Writes a file under a temporary name in the target's folder and renames it over the target on
/// <see cref="Commit"/>, so a failed write never leaves a half-written or missing file behind.</summary>
internal sealed class AtomicFile : IDisposable
{
    readonly string path;
    readonly string tempPath;
    readonly FileStream stream;
    bool done;

    AtomicFile(string path)
    {
        this.path = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(this.path) ?? throw new ArgumentException($"'{path}' has no folder", nameof(path));
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"cannot write '{path}': folder '{dir}' does not exist");
        tempPath = Path.Combine(dir, "." + Path.GetFileName(this.path) + "." + Path.GetRandomFileName() + ".tmp");
        stream = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
    }

    public Stream Stream => stream;

    public static AtomicFile Create(string path) => new(path);

    public void Commit()
    {
        stream.Flush(flushToDisk: true);
        stream.Dispose();
        File.Move(tempPath, path, overwrite: true);
        done = true;
    }

    public void Dispose()
    {
        if (done) return;
        stream.Dispose();
        try { File.Delete(tempPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        done = true;
    }
}
