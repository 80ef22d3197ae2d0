using Acp.GptOss.Tools.Mcp;

namespace Acp.GptOss.Tests.Tools.Mcp;

/// <summary>Function names for MCP tools: identifiers, unique, the first of equal ones unchanged.</summary>
public sealed class McpNamesTests
{
    [Theory]
    [InlineData("files", "read_file", "files__read_file")]
    [InlineData("my server", "get-weather.now", "my_server__get_weather_now")]
    [InlineData("9lives", "cat", "_9lives__cat")]
    [InlineData("météo", "été", "m_t_o___t_")]
    [InlineData("", "", "__")]
    public void Names_are_sanitized(string server, string tool, string expected) =>
        Assert.Equal(expected, new McpNames().Next(server, tool));

    [Fact]
    public void Equal_names_get_a_numbered_suffix_that_is_itself_unique()
    {
        var names = new McpNames();

        string[] given = [names.Next("s", "a.b"), names.Next("s", "a-b"), names.Next("s", "a_b_2"), names.Next("s", "a b")];

        Assert.Equal(["s__a_b", "s__a_b_2", "s__a_b_2_2", "s__a_b_3"], given);
    }
}
