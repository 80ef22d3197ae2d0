using System.Reflection;
using System.Text;
using BenchmarkDotNet.Attributes;
using Harmony.Tokenizers;

namespace Harmony.Benchmarks;

/// <summary>
/// The built-in o200k_harmony tokenizer: loading its vocabulary (it must stay off request paths: about a third of a
/// second) and encoding real text, the repository's README and C# sources, as the router counts a prompt.
/// </summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private readonly O200kHarmonyTokenizer _tokenizer = O200kHarmonyTokenizer.Load();
    private readonly List<int> _tokens = new(1 << 20);
    private string _text = "";
    private byte[] _utf8 = [];

    [GlobalSetup]
    public void Setup()
    {
        string root = typeof(TokenizerBenchmarks).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "RepositoryRoot").Value!;
        var text = new StringBuilder(File.ReadAllText(Path.Combine(root, "README.md")));
        foreach (string file in Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            text.Append(File.ReadAllText(file));
        }

        _text = text.ToString();
        _utf8 = Encoding.UTF8.GetBytes(_text);
        _tokens.Clear();
        _tokenizer.EncodeOrdinary(_utf8, _tokens);
    }

    [Benchmark]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "BenchmarkDotNet runs instance methods.")]
    public O200kHarmonyTokenizer Load() => O200kHarmonyTokenizer.Load();

    [Benchmark]
    public int EncodeOrdinary()
    {
        _tokens.Clear();
        _tokenizer.EncodeOrdinary(_utf8, _tokens);
        return _tokens.Count;
    }

    [Benchmark]
    public int CountOrdinary() => _tokenizer.CountOrdinary(_text);
}
