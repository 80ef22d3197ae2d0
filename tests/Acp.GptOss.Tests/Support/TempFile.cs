namespace Acp.GptOss.Tests.Support;

/// <summary>A path in the temp folder that no other test uses; the file, if any was written there, is deleted afterwards.</summary>
internal sealed class TempFile(string extension) : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"acp-gptoss-{Guid.NewGuid():N}{extension}");

    /// <summary>A temp file holding <paramref name="text"/>.</summary>
    public static async Task<TempFile> WriteAsync(string extension, string text)
    {
        var file = new TempFile(extension);
        await File.WriteAllTextAsync(file.Path, text);
        return file;
    }

    public void Dispose() => File.Delete(Path);
}
