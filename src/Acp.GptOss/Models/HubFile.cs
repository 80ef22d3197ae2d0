using System.Text.RegularExpressions;

namespace Acp.GptOss.Models;

/// <summary>One file of a Hugging Face model repository, at a revision.</summary>
/// <param name="Repository">ORG/REPO.</param>
/// <param name="FileName">The file's path in the repository, with forward slashes.</param>
/// <param name="Revision">A branch, a tag or a commit.</param>
internal sealed partial record HubFile(string Repository, string FileName, string Revision)
{
    /// <summary>The GPT-OSS builds <c>models pull</c> knows by name: ggml-org's MXFP4 GGUFs, as OpenAI released the weights.</summary>
    public static readonly IReadOnlyDictionary<string, (string Repository, string FileName)> Aliases = new Dictionary<string, (string, string)>(StringComparer.OrdinalIgnoreCase)
    {
        ["gpt-oss-20b"] = ("ggml-org/gpt-oss-20b-GGUF", "gpt-oss-20b-mxfp4.gguf"),
        ["gpt-oss-120b"] = ("ggml-org/gpt-oss-120b-GGUF", "gpt-oss-120b-mxfp4-00001-of-00003.gguf"),
    };

    /// <summary>ORG/REPO/FILE, as people write it.</summary>
    public string Name => $"{Repository}/{FileName}";

    /// <summary>
    /// The files <paramref name="spec"/> asks for: <c>gpt-oss-20b</c>, <c>gpt-oss-120b</c> or <c>ORG/REPO/FILE</c>;
    /// every part of a split model (<c>NAME-00001-of-00003.gguf</c>), whichever part was named.
    /// </summary>
    /// <returns>The files, or null with <paramref name="error"/> saying what is wrong.</returns>
    public static IReadOnlyList<HubFile>? Parse(string spec, string revision, out string? error)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(revision);
        error = null;
        string repository;
        string fileName;
        if (Aliases.TryGetValue(spec, out (string Repository, string FileName) alias))
        {
            (repository, fileName) = alias;
        }
        else
        {
            string[] parts = spec.Split('/');
            if (parts.Length < 3 || !NamePattern().IsMatch(parts[0]) || !NamePattern().IsMatch(parts[1]) || parts[0].Contains("--", StringComparison.Ordinal)
                || parts[1].Contains("--", StringComparison.Ordinal) || parts[2..].Any(p => p is "" or "." or ".." || p.Contains('\\', StringComparison.Ordinal)))
            {
                error = $"\"{spec}\" is not a model to pull: give gpt-oss-20b, gpt-oss-120b, or ORG/REPO/FILE such as ggml-org/gpt-oss-20b-GGUF/gpt-oss-20b-mxfp4.gguf.";
                return null;
            }

            repository = $"{parts[0]}/{parts[1]}";
            fileName = string.Join('/', parts[2..]);
        }

        if (revision.Length == 0 || revision.Split('/').Any(p => p is "" or "." or ".."))
        {
            error = $"--revision \"{revision}\" is not a branch, tag or commit.";
            return null;
        }

        string folder = fileName.Contains('/', StringComparison.Ordinal) ? fileName[..(fileName.LastIndexOf('/') + 1)] : "";
        if (!SplitGguf.TryParse(fileName[folder.Length..], out string prefix, out _, out int count))
        {
            return [new HubFile(repository, fileName, revision)];
        }

        return [.. Enumerable.Range(1, count).Select(part => new HubFile(repository, folder + SplitGguf.PartName(prefix, part, count), revision))];
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
