using System.Globalization;
using System.Text.RegularExpressions;

namespace Acp.GptOss.Models;

/// <summary>
/// The names llama.cpp's gguf-split gives the parts of one model, <c>NAME-00001-of-00003.gguf</c>; llama.cpp opens
/// the first part and finds the others beside it by these names.
/// </summary>
internal static partial class SplitGguf
{
    /// <summary>Whether <paramref name="fileName"/> names a part; its set's prefix, its number (from 1) and the set's size.</summary>
    public static bool TryParse(string fileName, out string prefix, out int part, out int count)
    {
        Match match = PartPattern().Match(fileName);
        prefix = match.Success ? match.Groups["prefix"].Value : "";
        part = match.Success ? int.Parse(match.Groups["part"].ValueSpan, CultureInfo.InvariantCulture) : 0;
        count = match.Success ? int.Parse(match.Groups["count"].ValueSpan, CultureInfo.InvariantCulture) : 0;
        return match.Success && count >= 1 && part >= 1 && part <= count;
    }

    /// <summary>The file name of part <paramref name="part"/> of <paramref name="count"/>.</summary>
    public static string PartName(string prefix, int part, int count) => string.Create(CultureInfo.InvariantCulture, $"{prefix}-{part:D5}-of-{count:D5}.gguf");

    [GeneratedRegex(@"^(?<prefix>.+)-(?<part>\d{5})-of-(?<count>\d{5})\.gguf$", RegexOptions.CultureInvariant)]
    private static partial Regex PartPattern();
}
