using System.Runtime.InteropServices;

namespace LlamaCpp.Tests;

/// <summary>
/// The sequence state file's checks, without a model: what another model, context size or format version wrote, and
/// a truncated, damaged or foreign file, are refused with a reason before any state reaches llama.cpp.
/// </summary>
public sealed unsafe class LlamaStateFileTests : IDisposable
{
    private static readonly byte[] s_model = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];
    private static readonly LlamaStateFile.Owner s_owner = new(s_model, 1024, 1000);

    private readonly string _directory = Directory.CreateTempSubdirectory("llamacpp-state-").FullName;

    public LlamaStateFileTests()
    {
        // The runtime identity comes from the loaded libllama.
        _ = LlamaBackend.Initialize();
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void What_was_written_reads_back_owner_only()
    {
        string path = Write([1, 2, 3], [9, 8, 7, 6]);

        string? refusal = LlamaStateFile.TryRead(path, s_owner, out int[] tokens, out byte* state, out long length);

        try
        {
            Assert.Null(refusal);
            Assert.Equal([1, 2, 3], tokens);
            Assert.Equal([9, 8, 7, 6], new ReadOnlySpan<byte>(state, (int)length).ToArray());
        }
        finally
        {
            NativeMemory.Free(state);
        }

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        Assert.Single(Directory.GetFiles(_directory));
    }

    [Theory]
    [InlineData("model", "another model")]
    [InlineData("context", "context")]
    [InlineData("vocabulary", "not in the vocabulary")]
    [InlineData("version", "version")]
    [InlineData("truncated", "lengths")]
    [InlineData("longer", "lengths")]
    [InlineData("state", "checksum")]
    [InlineData("tokens", "checksum")]
    [InlineData("magic", "not a sequence state file")]
    [InlineData("short", "not a sequence state file")]
    [InlineData("missing", "cannot open")]
    public void A_file_that_does_not_fit_is_refused_with_its_reason(string change, string reason)
    {
        string path = Write([1, 2, 3], [9, 8, 7, 6]);
        byte[] bytes = File.ReadAllBytes(path);
        LlamaStateFile.Owner owner = s_owner;
        int tokens = LlamaStateFile.HeaderLength;
        switch (change)
        {
            case "model":
                owner = owner with { Model = new byte[32] };
                break;
            case "context":
                owner = owner with { ContextSize = 2048 };
                break;
            case "vocabulary":
                owner = owner with { VocabularySize = 3 };
                break;
            case "version":
                bytes[8] = 2;
                break;
            case "truncated":
                bytes = bytes[..^1];
                break;
            case "longer":
                bytes = [.. bytes, 0];
                break;
            case "state":
                bytes[^1] ^= 1;
                break;
            case "tokens":
                bytes[tokens] ^= 1;
                break;
            case "magic":
                bytes[0] = (byte)'X';
                break;
            case "short":
                bytes = bytes[..20];
                break;
            case "missing":
                File.Delete(path);
                break;
        }

        if (change != "missing")
        {
            File.WriteAllBytes(path, bytes);
        }

        string? refusal = LlamaStateFile.TryRead(path, owner, out int[] read, out byte* state, out _);

        Assert.NotNull(refusal);
        Assert.Contains(reason, refusal, StringComparison.Ordinal);
        Assert.Empty(read);
        Assert.True(state is null);
    }

    [Fact]
    public void A_write_that_fails_leaves_nothing_behind_and_the_old_file_whole()
    {
        string path = Write([1], [1]);
        byte[] before = File.ReadAllBytes(path);
        string directoryPath = Path.Combine(_directory, "missing", "s.kv");

        byte[] state = [5];
        fixed (byte* pointer = state)
        {
            byte* p = pointer;
            Assert.ThrowsAny<IOException>(() => LlamaStateFile.Write(directoryPath, s_owner, [1], p, 1));
        }

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_directory));
    }

    private string Write(int[] tokens, byte[] state)
    {
        string path = Path.Combine(_directory, "s.kv");
        fixed (byte* pointer = state)
        {
            LlamaStateFile.Write(path, s_owner, tokens, pointer, state.Length);
        }

        return path;
    }
}
