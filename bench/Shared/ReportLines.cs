namespace Bench.Shared;

/// <summary>A benchmark's report: each line printed at once (a long run shows its progress) and kept, to be saved.</summary>
internal sealed class ReportLines
{
    // A benchmark's report is its stdout; only the agent's stdout is reserved for ACP.
#pragma warning disable RS0030
    private readonly TextWriter _out = Console.Out;
#pragma warning restore RS0030
    private readonly List<string> _lines = [];

    public void Line(string text)
    {
        _out.WriteLine(text);
        _out.Flush();
        _lines.Add(text);
    }

    /// <summary>Writes every line so far to <paramref name="path"/>, making its folder.</summary>
    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllLines(path, _lines);
    }
}
