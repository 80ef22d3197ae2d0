using System.Reflection;

namespace Acp.GptOss.Hosting;

/// <summary>This program's version, as clients, servers and users see it.</summary>
internal static class AppVersion
{
    /// <summary>The informational version without its build metadata (<c>+commit</c>).</summary>
    public static string Current { get; } =
        (typeof(AppVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];
}
