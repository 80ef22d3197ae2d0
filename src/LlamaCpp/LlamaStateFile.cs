using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using LlamaCpp.Native;

namespace LlamaCpp;

/// <summary>
/// The file one sequence's KV state is kept in: a header that says what made it, the token ids the cache holds, and
/// llama.cpp's own bytes for the sequence. Everything is checked here before llama.cpp sees a byte: another model,
/// another context size, another llama.cpp build, a truncated or damaged file are refused, never handed on (llama.cpp
/// trusts its state data).
/// </summary>
/// <remarks>
/// Layout, little-endian: magic (8), version (4), context size (4), token count (4), reserved (4), state length (8),
/// model identity (32), runtime identity (32), checksum of the tokens and the state (32), then the tokens (4 each)
/// and the state.
/// </remarks>
internal static unsafe class LlamaStateFile
{
    public const int HeaderLength = 8 + 4 + 4 + 4 + 4 + 8 + (3 * HashLength);
    private const int HashLength = 32;
    private const int Version = 1;
    private static ReadOnlySpan<byte> Magic => "LLKVSEQ\0"u8;
    private static readonly Lazy<byte[]> s_runtime = new(RuntimeIdentity);

    /// <summary>What the file must match to be restored.</summary>
    /// <param name="Model">The model's identity (<see cref="LlamaModel.Identity"/>).</param>
    /// <param name="ContextSize">The context size in tokens.</param>
    /// <param name="VocabularySize">Token ids must be below it.</param>
    public readonly record struct Owner(ReadOnlyMemory<byte> Model, int ContextSize, int VocabularySize);

    /// <summary>
    /// Writes the file whole beside <paramref name="path"/>, then moves it there: a crash leaves the old one, none, or
    /// one its checksum refuses.
    /// </summary>
    public static void Write(string path, Owner owner, ReadOnlySpan<int> tokens, byte* state, long stateLength)
    {
        byte[] header = new byte[HeaderLength];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), Version);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), owner.ContextSize);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), tokens.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(24), stateLength);
        owner.Model.Span.CopyTo(header.AsSpan(32, HashLength));
        s_runtime.Value.CopyTo(header.AsSpan(32 + HashLength));
        byte[] tokenBytes = TokenBytes(tokens);
        Checksum(tokenBytes, state, stateLength).CopyTo(header.AsSpan(32 + (2 * HashLength)));

        string directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        string temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            // The cache holds the conversation: readable by its owner only.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(header);
                stream.Write(tokenBytes);
                for (long offset = 0; offset < stateLength;)
                {
                    int count = (int)Math.Min(stateLength - offset, 1 << 30);
                    stream.Write(new ReadOnlySpan<byte>(state + offset, count));
                    offset += count;
                }

                // No fsync: the file is a cache, checked whole when read (the checksum), so a crash that tears it costs
                // one full prefill; syncing hundreds of megabytes would hold up the session's next turn.
                stream.Flush();
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            DeleteQuietly(temporary);
            throw;
        }
    }

    /// <summary>
    /// Reads a file <paramref name="owner"/> wrote: its tokens and its state in native memory (the caller frees it
    /// with <see cref="NativeMemory.Free"/>), or the reason it is refused.
    /// </summary>
    public static string? TryRead(string path, Owner owner, out int[] tokens, out byte* state, out long stateLength)
    {
        tokens = [];
        state = null;
        stateLength = 0;
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return $"cannot open it: {e.Message}";
        }

        using (stream)
        {
            Span<byte> header = stackalloc byte[HeaderLength];
            if (stream.ReadAtLeast(header, HeaderLength, throwOnEndOfStream: false) < HeaderLength || !header[..8].SequenceEqual(Magic))
            {
                return "not a sequence state file";
            }

            if (BinaryPrimitives.ReadInt32LittleEndian(header[8..]) != Version)
            {
                return "another version of the format";
            }

            if (!header.Slice(32, HashLength).SequenceEqual(owner.Model.Span))
            {
                return "written for another model";
            }

            if (!header.Slice(32 + HashLength, HashLength).SequenceEqual(s_runtime.Value))
            {
                return "written by another llama.cpp build";
            }

            int contextSize = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
            if (contextSize != owner.ContextSize)
            {
                return $"written for a {contextSize}-token context, not {owner.ContextSize}";
            }

            int count = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
            long length = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
            if (count is < 1 || count > contextSize || length <= 0 || stream.Length != HeaderLength + (4L * count) + length)
            {
                return "truncated or damaged (its lengths do not add up)";
            }

            byte[] tokenBytes = new byte[4 * count];
            stream.ReadExactly(tokenBytes);
            byte* buffer = (byte*)NativeMemory.Alloc((nuint)length);
            try
            {
                for (long offset = 0; offset < length;)
                {
                    int chunk = (int)Math.Min(length - offset, 1 << 30);
                    stream.ReadExactly(new Span<byte>(buffer + offset, chunk));
                    offset += chunk;
                }

                if (!Checksum(tokenBytes, buffer, length).AsSpan().SequenceEqual(header.Slice(32 + (2 * HashLength), HashLength)))
                {
                    NativeMemory.Free(buffer);
                    return "damaged (its checksum does not match)";
                }
            }
            catch
            {
                NativeMemory.Free(buffer);
                throw;
            }

            int[] ids = new int[count];
            for (int i = 0; i < count; i++)
            {
                ids[i] = BinaryPrimitives.ReadInt32LittleEndian(tokenBytes.AsSpan(4 * i));
                if ((uint)ids[i] >= (uint)owner.VocabularySize)
                {
                    NativeMemory.Free(buffer);
                    return $"damaged (token {ids[i]} is not in the vocabulary)";
                }
            }

            tokens = ids;
            state = buffer;
            stateLength = length;
            return null;
        }
    }

    /// <summary>
    /// A model file's identity: its length and SHA-256 over 16 slices of 64 KiB spread over it (the header, the
    /// vocabulary, weights through to the end): cheap on a many-gigabyte file, and two fine-tunes of one shape differ.
    /// </summary>
    public static byte[] ModelIdentity(string path)
    {
        const int Slices = 16;
        const int SliceLength = 64 * 1024;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using FileStream stream = new(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = stream.Length;
        Span<byte> lengthBytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(lengthBytes, length);
        hash.AppendData(lengthBytes);
        byte[] slice = new byte[SliceLength];
        for (int i = 0; i < Slices; i++)
        {
            long offset = Math.Max(0, (length - SliceLength) * i / (Slices - 1));
            stream.Position = offset;
            int read = stream.ReadAtLeast(slice, SliceLength, throwOnEndOfStream: false);
            hash.AppendData(slice, 0, read);
        }

        return hash.GetHashAndReset();
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The write's own failure is the one to report.
        }
    }

    private static byte[] TokenBytes(ReadOnlySpan<int> tokens)
    {
        byte[] bytes = new byte[4 * tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * i), tokens[i]);
        }

        return bytes;
    }

    private static byte[] Checksum(byte[] tokens, byte* state, long length)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(tokens);
        for (long offset = 0; offset < length;)
        {
            int count = (int)Math.Min(length - offset, 1 << 30);
            hash.AppendData(new ReadOnlySpan<byte>(state + offset, count));
            offset += count;
        }

        return hash.GetHashAndReset();
    }

    // The llama.cpp build: its state bytes are its own, and another build may lay them out otherwise.
    private static byte[] RuntimeIdentity()
    {
        string version = $"{Marshal.PtrToStringUTF8((nint)NativeMethods.ggml_version())}+{Marshal.PtrToStringUTF8((nint)NativeMethods.ggml_commit())}";
        return SHA256.HashData(Encoding.UTF8.GetBytes(version));
    }
}
