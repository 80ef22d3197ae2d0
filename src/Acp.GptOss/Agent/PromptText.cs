using System.Text;
using Acp.GptOss.Tools;
using Acp.Protocol;
using Acp.Protocol.JsonRpc;

namespace Acp.GptOss.Agent;

/// <summary>
/// Turns an ACP prompt into the text of the Harmony user message. Text reads as written, mentions stay where they
/// were as links, and embedded file contents follow the message, each in a fence. The Harmony encoding makes all of
/// it ordinary tokens, so nothing here can inject structure.
/// </summary>
internal static class PromptText
{
    /// <exception cref="JsonRpcException">-32602 for content this agent does not accept, or an empty prompt.</exception>
    public static string Build(IReadOnlyList<ContentBlock> prompt)
    {
        var message = new StringBuilder();
        var attachments = new StringBuilder();
        foreach (ContentBlock block in prompt)
        {
            switch (block)
            {
                case TextContent text:
                    message.Append(text.Text);
                    break;
                case ResourceLinkContent link:
                    message.Append('[').Append(link.Title ?? link.Name).Append("](").Append(link.Uri).Append(')');
                    break;
                case EmbeddedResourceContent { Resource: var resource }:
                    message.Append('[').Append(NameOf(resource.Uri)).Append("](").Append(resource.Uri).Append(')');
                    AppendAttachment(attachments, resource);
                    break;
                case ImageContent:
                    throw Unsupported("Images are not supported: GPT-OSS reads text only (promptCapabilities.image is false).");
                case AudioContent:
                    throw Unsupported("Audio is not supported: GPT-OSS reads text only (promptCapabilities.audio is false).");
            }
        }

        if (attachments.Length > 0)
        {
            message.Append(attachments);
        }

        return string.IsNullOrWhiteSpace(message.ToString())
            ? throw Unsupported("The prompt is empty.")
            : message.ToString();
    }

    private static void AppendAttachment(StringBuilder attachments, EmbeddedResource resource)
    {
        attachments.Append("\n\n").Append(resource.Uri);
        if (resource.MimeType is not null)
        {
            attachments.Append(" (").Append(resource.MimeType).Append(')');
        }

        if (resource.Text is { } text)
        {
            string fence = ToolContent.FenceFor(text);
            attachments.Append(":\n").Append(fence).Append('\n').Append(text);
            if (!text.EndsWith('\n'))
            {
                attachments.Append('\n');
            }

            attachments.Append(fence);
        }
        else
        {
            attachments.Append(": binary contents, not shown.");
        }
    }

    private static string NameOf(string uri)
    {
        int slash = uri.TrimEnd('/').LastIndexOf('/');
        return slash >= 0 ? uri[(slash + 1)..].TrimEnd('/') : uri;
    }

    private static JsonRpcException Unsupported(string message) => new(JsonRpcErrorCodes.InvalidParams, message);
}
