using System.Runtime.CompilerServices;

namespace Acp.GptOss.Tests.Support;

/// <summary>
/// Points the agent's config and state folders at a scratch folder for this test run, before any test starts an
/// agent: the agents the tests start (in-process, as a child process, through acpx) neither read the user's config
/// nor append to the user's routing log.
/// </summary>
internal static class TestEnvironment
{
    public static string Root { get; } = Path.Combine(Path.GetTempPath(), $"acp-gptoss-tests-{Environment.ProcessId}");

    [ModuleInitializer]
    internal static void Initialize()
    {
        Environment.SetEnvironmentVariable("XDG_CONFIG_HOME", Path.Combine(Root, "config"));
        Environment.SetEnvironmentVariable("XDG_STATE_HOME", Path.Combine(Root, "state"));
    }
}
