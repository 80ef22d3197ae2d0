using System.Text.Json;
using Acp.GptOss.Tools.Mcp;
using ModelContextProtocol.Protocol;

namespace Acp.GptOss.Tests.Tools.Mcp;

/// <summary>A tools/call result as the one text the model reads.</summary>
public sealed class McpResultTextTests
{
    [Fact]
    public void Text_blocks_are_joined_by_newlines_and_other_blocks_described()
    {
        var result = new CallToolResult
        {
            Content =
            [
                new TextContentBlock { Text = "one" },
                ImageContentBlock.FromBytes(new byte[1234], "image/png"),
                AudioContentBlock.FromBytes(new byte[10], "audio/mpeg"),
                new EmbeddedResourceBlock { Resource = new TextResourceContents { Uri = "file:///a.txt", Text = "resource text" } },
                new EmbeddedResourceBlock { Resource = BlobResourceContents.FromBytes(new byte[3], "file:///b.bin", "application/zip") },
                new ResourceLinkBlock { Uri = "https://example.com/c", Name = "c", MimeType = "text/html", Size = 99 },
                new ResourceLinkBlock { Uri = "file:///d", Name = "d" },
                new TextContentBlock { Text = "two" },
            ],
        };

        Assert.Equal(
            "one\n[image image/png, 1234 bytes]\n[audio audio/mpeg, 10 bytes]\nresource text\n[resource file:///b.bin application/zip, 3 bytes]\n"
            + "[resource link https://example.com/c (c) text/html, 99 bytes]\n[resource link file:///d (d)]\ntwo",
            McpResultText.From(result));
    }

    [Fact]
    public void Data_that_is_not_base64_is_said_to_be_so()
    {
        var result = new CallToolResult { Content = [new ImageContentBlock { Data = "not base64!"u8.ToArray(), MimeType = "image/png" }] };

        Assert.Equal("[image image/png, undecodable data]", McpResultText.From(result));
    }

    [Fact]
    public void Structured_content_stands_in_for_no_content_but_not_for_some()
    {
        JsonElement structured = JsonDocument.Parse("""{"temperature":21.5}""").RootElement.Clone();

        Assert.Equal("""{"temperature":21.5}""", McpResultText.From(new CallToolResult { Content = [], StructuredContent = structured }));
        Assert.Equal("21.5 °C", McpResultText.From(new CallToolResult { Content = [new TextContentBlock { Text = "21.5 °C" }], StructuredContent = structured }));
        Assert.Equal("", McpResultText.From(new CallToolResult { Content = [] }));
    }
}
