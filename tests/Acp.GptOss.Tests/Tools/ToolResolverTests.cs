using Acp.GptOss.Tools;

namespace Acp.GptOss.Tests.Tools;

/// <summary>
/// A recipient resolved against the declared functions: with or without the <c>functions.</c> namespace, with a content
/// type glued to the name, and OpenAI's built-in tools, which are not ours.
/// </summary>
public sealed class ToolResolverTests
{
    private static readonly HashSet<string> s_declared = ["read_file", "shell", "fs__read"];

    [Theory]
    [InlineData("functions.read_file", "Function", "read_file", "functions.read_file")]
    [InlineData("read_file", "Function", "read_file", "functions.read_file")]
    [InlineData("functions.shelljson", "Function", "shell", "functions.shell")]
    [InlineData("shelljson", "Function", "shell", "functions.shell")]
    [InlineData("functions.fs__read", "Function", "fs__read", "functions.fs__read")]
    [InlineData("python", "BuiltIn", "python", "python")]
    [InlineData("browser.search", "BuiltIn", "browser.search", "browser.search")]
    [InlineData("container.exec", "BuiltIn", "container.exec", "container.exec")]
    [InlineData("functions.write_file", "Unknown", "functions.write_file", "functions.write_file")]
    [InlineData("functions.json", "Unknown", "functions.json", "functions.json")]
    [InlineData("assistant", "Unknown", "assistant", "assistant")]
    public void Resolves_the_recipient(string recipient, string resolution, string name, string recorded)
    {
        ResolvedTool tool = ToolResolver.Resolve(recipient, s_declared);

        Assert.Equal((resolution, name, recorded), (tool.Resolution.ToString(), tool.Name, tool.Recipient));
    }

    [Fact]
    public void A_declared_name_ending_in_json_is_taken_as_it_is()
    {
        ResolvedTool tool = ToolResolver.Resolve("functions.to_json", new HashSet<string> { "to_json", "to_" });

        Assert.Equal("to_json", tool.Name);
    }
}
