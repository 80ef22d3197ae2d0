using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests;

/// <summary>
/// The golden harness: golden/replay/NAME.completion (or the folder NAME/ with 1.txt, 2.txt, ...) replayed with
/// <c>acp-gptoss replay</c> must print exactly NAME.jsonl; NAME.full.jsonl and NAME.hidden.jsonl name a reasoning
/// display, and NAME.args holds extra arguments, one per line. The tests only compare:
/// tests/Acp.GptOss.Tests/update-replay-goldens rewrites the expected files by the same rules (review the diff).
/// </summary>
public sealed class ReplayGoldenTests
{
    private static readonly string s_directory = CliRunner.GoldenPath("replay");

    public static TheoryData<string> Cases() =>
        [.. Directory.EnumerateFiles(s_directory, "*.jsonl").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Replay_prints_exactly_the_golden_messages(string expectedFile)
    {
        CliResult result = await ReplayAsync(expectedFile);

        Assert.Equal(0, result.ExitCode);
        string expected = await File.ReadAllTextAsync(Path.Combine(s_directory, expectedFile));
        Assert.NotEqual("", expected);
        Assert.Equal(expected, result.Text);
    }

    [ClientsTheory]
    [MemberData(nameof(Cases))]
    public async Task Golden_messages_follow_the_ACP_schema(string expectedFile)
    {
        ProcessResult validation = await AcpValidator.RunAsync(
            await File.ReadAllTextAsync(Path.Combine(s_directory, expectedFile)), "--assume-response", "session/prompt");

        Assert.True(validation.ExitCode == 0, validation.Output + validation.Error);
        Assert.Contains(" 0 problems", validation.Output, StringComparison.Ordinal);
    }

    private static async Task<CliResult> ReplayAsync(string expectedFile)
    {
        string[] parts = expectedFile[..^".jsonl".Length].Split('.');
        string name = parts[0];
        string completion = Directory.Exists(Path.Combine(s_directory, name)) ? Path.Combine(s_directory, name) : Path.Combine(s_directory, name + ".completion");
        string argsFile = Path.Combine(s_directory, name + ".args");
        List<string> args = ["replay", completion];
        if (parts.Length > 1)
        {
            args.AddRange(["--reasoning-display", parts[1]]);
        }

        if (File.Exists(argsFile))
        {
            args.AddRange((await File.ReadAllLinesAsync(argsFile)).Where(l => l.Length > 0));
        }

        return await CliRunner.RunAsync([.. args]);
    }
}
