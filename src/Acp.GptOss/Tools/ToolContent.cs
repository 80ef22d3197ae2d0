using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Acp.Protocol;

namespace Acp.GptOss.Tools;

/// <summary>How tool results are written: for the model (the tool message) and for the user (the tool call's content).</summary>
internal static class ToolContent
{
    private static readonly JsonWriterOptions s_json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The tool message for a failure: a JSON object <c>{"error": …}</c>, so that the model tells it from output.</summary>
    public static string ErrorJson(string message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, s_json))
        {
            json.WriteStartObject();
            json.WriteString("error", message);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Text, as tool call content.</summary>
    public static ToolCallContent Text(string text) => new ToolCallContentBlock(new TextContent(text));

    /// <summary>Text in a Markdown code fence that the text cannot close.</summary>
    public static string Fenced(string text)
    {
        string fence = FenceFor(text);
        return $"{fence}\n{text.TrimEnd('\n')}\n{fence}";
    }

    /// <summary>A Markdown fence longer than any backtick run in <paramref name="text"/>, so that the text cannot close it.</summary>
    public static string FenceFor(string text)
    {
        int longest = 0;
        int run = 0;
        foreach (char c in text)
        {
            run = c == '`' ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }

        return new string('`', Math.Max(3, longest + 1));
    }

    /// <summary>The writer options of the JSON results: characters kept as they are, for the model to read.</summary>
    public static JsonWriterOptions JsonOptions => s_json;
}
