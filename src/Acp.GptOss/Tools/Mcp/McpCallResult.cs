namespace Acp.GptOss.Tools.Mcp;

/// <summary>The outcome of <see cref="McpToolbox.CallAsync"/>, as text for the model.</summary>
/// <param name="Text">
/// The text content blocks joined with <c>"\n"</c>; an embedded text resource adds its text; other blocks (image,
/// audio, binary resource, resource link) are described in one line like <c>[image image/png, 1234 bytes]</c>; when
/// there is no content but structuredContent, its JSON.
/// </param>
/// <param name="IsError">The server's isError, or true for our own failure to call it (the text says why).</param>
internal sealed record McpCallResult(string Text, bool IsError);
