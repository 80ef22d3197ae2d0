using System.Globalization;
using System.Text;
using ModelContextProtocol.Protocol;

namespace Acp.GptOss.Tools.Mcp;

/// <summary>
/// Turns a tools/call result into the one text the model reads. The model sees text only: a block it cannot read
/// (an image, audio, binary data) is named in one line, so that it knows the tool gave something and what.
/// </summary>
internal static class McpResultText
{
    public static string From(CallToolResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Content is not { Count: > 0 } content)
        {
            return result.StructuredContent is { } structured ? structured.GetRawText() : "";
        }

        var text = new StringBuilder();
        foreach (ContentBlock block in content)
        {
            if (text.Length > 0)
            {
                text.Append('\n');
            }

            text.Append(Describe(block));
        }

        return text.ToString();
    }

    private static string Describe(ContentBlock block) => block switch
    {
        TextContentBlock t => t.Text,
        ImageContentBlock image => $"[image {image.MimeType}, {Size(() => image.DecodedData.Length)}]",
        AudioContentBlock audio => $"[audio {audio.MimeType}, {Size(() => audio.DecodedData.Length)}]",
        EmbeddedResourceBlock { Resource: TextResourceContents resource } => resource.Text,
        EmbeddedResourceBlock { Resource: BlobResourceContents blob } =>
            $"[resource {blob.Uri}{Mime(blob.MimeType)}, {Size(() => blob.DecodedData.Length)}]",
        EmbeddedResourceBlock embedded => $"[resource {embedded.Resource.Uri}{Mime(embedded.Resource.MimeType)}]",
        ResourceLinkBlock link =>
            $"[resource link {link.Uri} ({link.Name}){Mime(link.MimeType)}{(link.Size is long size ? string.Create(CultureInfo.InvariantCulture, $", {size} bytes") : "")}]",
        _ => $"[{block.Type} content]",
    };

    private static string Mime(string? mimeType) => string.IsNullOrEmpty(mimeType) ? "" : " " + mimeType;

    private static string Size(Func<int> decodedLength)
    {
        try
        {
            return string.Create(CultureInfo.InvariantCulture, $"{decodedLength()} bytes");
        }
        catch (FormatException)
        {
            // The server sent something that is not base64: say so rather than fail the whole result.
            return "undecodable data";
        }
    }
}
