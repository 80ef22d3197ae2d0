using System.Buffers;
using System.Security.Cryptography;

namespace Acp.GptOss.Models;

/// <summary>
/// A <c>.incomplete</c> file being appended to, with the sha256 of everything in it kept as it grows. Opening it
/// hashes what an earlier run left, so a resumed download is verified as a whole. Writes are unbuffered: what a
/// killed process had written is on disk, and the file is always a prefix of the content.
/// </summary>
/// <remarks>Not thread-safe: one download owns it.</remarks>
internal sealed class PartialDownload : IAsyncDisposable
{
    private readonly string _path;
    private readonly Stream _stream;
    private IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private bool _disposed;

    private PartialDownload(string path, Stream stream)
    {
        _path = path;
        _stream = stream;
    }

    /// <summary>Bytes in the file, all hashed.</summary>
    public long Length { get; private set; }

    /// <summary>Opens (or creates) the file and hashes what is in it.</summary>
    /// <exception cref="ModelDownloadException">The file cannot be opened or read.</exception>
    public static async Task<PartialDownload> OpenAsync(string path, Func<FileStream, Stream> wrap, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(wrap);
        Stream stream;
        try
        {
            stream = wrap(new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.Read, BufferSize = 0, Options = FileOptions.Asynchronous,
            }));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelDownloadException($"Cannot open {path}: {e.Message}", e);
        }

        var partial = new PartialDownload(path, stream);
        try
        {
            await partial.HashExistingAsync(cancellationToken).ConfigureAwait(false);
            return partial;
        }
        catch
        {
            await partial.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Appends bytes and hashes them.</summary>
    /// <exception cref="ModelDownloadException">The disk refused them (full, say); what was written before is kept.</exception>
    public async Task AppendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new ModelDownloadException(
                $"Writing {_path} failed after {Length} bytes: {e.Message.TrimEnd('.')}. The bytes written so far are kept: free some space and run the same command again to resume.", e);
        }

        _hash.AppendData(bytes.Span);
        Length += bytes.Length;
    }

    /// <summary>Empties the file, for a server that sends the whole file instead of the rest.</summary>
    public void Restart()
    {
        _stream.SetLength(0);
        _stream.Position = 0;
        _hash.Dispose();
        _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Length = 0;
    }

    /// <summary>The sha256 of everything in the file, in lowercase hex.</summary>
    public string Sha256() => Convert.ToHexStringLower(_hash.GetCurrentHash());

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _stream.DisposeAsync().ConfigureAwait(false);
        _hash.Dispose();
    }

    private async Task HashExistingAsync(CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            _stream.Position = 0;
            int read;
            while ((read = await _stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                _hash.AppendData(buffer, 0, read);
                Length += read;
            }
        }
        catch (IOException e)
        {
            throw new ModelDownloadException($"Cannot read {_path}: {e.Message}", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
