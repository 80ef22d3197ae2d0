using System.Text.RegularExpressions;
using Acp.Protocol;

namespace Acp.GptOss.Routing;

/// <summary>
/// Finds what makes a prompt a code-generation request. Each signal has a stable name, used in decision logs:
/// <list type="bullet">
/// <item><c>imperative_code</c>: write, implement, refactor, fix, generate (and create, add, rewrite, port, convert,
/// optimize, debug) followed within a few words by a code noun (function, class, method, code, script, test, bug,
/// module, API, endpoint, query, regex, component...).</item>
/// <item><c>code_fence</c>: a Markdown fence of three or more backticks or tildes.</item>
/// <item><c>diff</c>: unified diff lines (<c>diff --git</c>, <c>--- a/</c> and <c>+++ b/</c>, <c>@@ -1,2 +1,3 @@</c>).</item>
/// <item><c>embedded_file</c>: an embedded resource (an @-mentioned file's contents).</item>
/// <item><c>linked_file</c>: a resource link to a file.</item>
/// <item><c>source_file</c>: a file name with a source extension (<c>Program.cs</c>, <c>main.py</c>...).</item>
/// <item><c>stack_trace</c>: .NET or Java frames (<c>at Foo.Bar(</c>), a Python traceback, a Node or Go trace.</item>
/// </list>
/// </summary>
internal static partial class CodeSignals
{
    public const string ImperativeCode = "imperative_code";
    public const string CodeFence = "code_fence";
    public const string Diff = "diff";
    public const string EmbeddedFile = "embedded_file";
    public const string LinkedFile = "linked_file";
    public const string SourceFile = "source_file";
    public const string StackTrace = "stack_trace";

    /// <summary>The signals found, in the order above, each once.</summary>
    public static IReadOnlyList<string> Find(string text, IReadOnlyList<ContentBlock> prompt)
    {
        var found = new List<string>();
        void Add(string signal, bool present)
        {
            if (present)
            {
                found.Add(signal);
            }
        }

        Add(ImperativeCode, ImperativeCodeRegex().IsMatch(text));
        Add(CodeFence, CodeFenceRegex().IsMatch(text));
        Add(Diff, DiffRegex().IsMatch(text));
        Add(EmbeddedFile, prompt.Any(b => b is EmbeddedResourceContent));
        Add(LinkedFile, prompt.Any(b => b is ResourceLinkContent link && link.Uri.StartsWith("file:", StringComparison.OrdinalIgnoreCase)));
        Add(SourceFile, SourceFileRegex().IsMatch(text));
        Add(StackTrace, StackTraceRegex().IsMatch(text));
        return found;
    }

    // The verb, then up to four words, then the noun: "write a small function", "fix the failing test".
    [GeneratedRegex(
        @"\b(?:write|implement|refactor|fix|generate|create|add|rewrite|port|convert|optimi[sz]e|debug)\b(?:\W+\w+){0,4}?\W+(?:functions?|class(?:es)?|methods?|code|scripts?|tests?|unit tests?|bugs?|modules?|apis?|endpoints?|quer(?:y|ies)|regexe?s?|regular expressions?|components?|programs?|structs?|interfaces?|snippets?|implementation|parser|algorithm|sql|types?)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ImperativeCodeRegex();

    [GeneratedRegex(@"^\s{0,3}(?:`{3,}|~{3,})", RegexOptions.Multiline)]
    private static partial Regex CodeFenceRegex();

    [GeneratedRegex(@"^(?:diff --git |--- a/|\+\+\+ b/|@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@)", RegexOptions.Multiline)]
    private static partial Regex DiffRegex();

    [GeneratedRegex(
        @"\b[\w./-]+\.(?:cs|csproj|fs|vb|py|ipynb|js|mjs|cjs|jsx|ts|tsx|go|rs|java|kt|kts|scala|swift|m|mm|c|cc|cpp|cxx|h|hpp|rb|php|lua|pl|sh|bash|zsh|ps1|sql|r|dart|ex|exs|erl|hs|ml|clj|vue|svelte|css|scss|html)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SourceFileRegex();

    [GeneratedRegex(
        @"^\s+at [\w$.<>`]+[.:][\w$<>`]+\s?\(|^Traceback \(most recent call last\):|^\s+File "".+"", line \d+|^\s+at .+ \(.+:\d+:\d+\)$|^goroutine \d+ \[|^Exception in thread """,
        RegexOptions.Multiline)]
    private static partial Regex StackTraceRegex();
}
